"""Shipped with the library for tests and benchmarks (needs the ``dev`` extra: pytest, cryptography).

* :mod:`.contract` — the contract suite every workbook adapter passes (``WorkbookContract``).
* :mod:`.sheets_server` — a local Google Sheets API v4 server (with Google's limits) over real HTTP.
* :mod:`.amazon_server` — a local Amazon (LWA, SP-API Reports, Data Kiosk, Ads API v3 reporting) over real
  HTTP, as strict as Amazon by default; its documents and report types are in :mod:`.amazon_documents`, its
  Data Kiosk in :mod:`.amazon_datakiosk`.
* :mod:`.amazon_contract` — the Amazon contract checks, against the local Amazon or (``--live``) Amazon.
* :mod:`.mercadolibre_server` — a local Mercado Libre (OAuth2 refresh tokens, orders, visits, Product Ads,
  reputation, Full stock) over real HTTP.

Nothing here is imported by the product code.
"""

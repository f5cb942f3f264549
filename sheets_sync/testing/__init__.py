"""Shipped with the library for tests and benchmarks (needs the ``dev`` extra: pytest, cryptography).

* :mod:`.contract` — the contract suite every workbook adapter passes (``WorkbookContract``).
* :mod:`.contract_suite` — the registry and command of the service contract suites
  (``python -m sheets_sync.testing.contract_suite sheets|amazon [--live]``): the same checks against a local
  server and, with credentials, against the real service. :mod:`.sheets_contract` is the Google Sheets one,
  :mod:`.amazon_contract` the Amazon one.
* :mod:`.sheets_server` — a local Google Sheets API v4 server, as strict as Google, over real HTTP; it checks
  every request against the vendored discovery document (:mod:`.sheets_discovery`), applies batchUpdate
  requests as Google does (:mod:`.sheets_batch`) on its model of spreadsheets (:mod:`.sheets_model`).
* :mod:`.amazon_server` — a local Amazon (LWA, SP-API Reports, Data Kiosk, Ads API v3 reporting) over real
  HTTP, as strict as Amazon by default; its documents and report types are in :mod:`.amazon_documents`, its
  Data Kiosk in :mod:`.amazon_datakiosk`.
* :mod:`.mercadolibre_server` — a local Mercado Libre (OAuth2 refresh tokens, orders, visits, Product Ads,
  reputation, Full stock) over real HTTP.

Nothing here is imported by the product code.
"""

"""Seeded sample data for the demo, the tests and the benchmarks: one module per platform.

* :mod:`sheets_sync.samples.amazon` — Amazon US and MX report files (Business Reports, Sales and Traffic JSON,
  Ads console and Ads API, the orders, inventory, returns and account-health reports) and the large
  benchmark workload;
* :mod:`sheets_sync.samples.mercadolibre` — a Mercado Libre México store (its seller-centre downloads and the
  dataset the local Mercado Libre server serves).

These are not sources: nothing here is read by a sync unless the files are written into a reports folder.
"""

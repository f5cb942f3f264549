"""Where actuals come from: report files (embedded default), SP-API and Ads API (live).

Every source yields :class:`sheets_sync.frames.RawReport` documents; :func:`sheets_sync.sources.parsing.parse_report`
turns each into a :class:`sheets_sync.frames.ReportBatch`. So the file source and the API sources return
exactly the same batches for the same data.
"""

"""sheets-sync: Amazon seller KPI reviews kept inside the team's spreadsheet."""

__version__ = "0.1.0"
TEMPLATE_VERSION = 1

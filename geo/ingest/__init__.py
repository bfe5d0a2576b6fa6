"""Users' record files in: read, check, place in communes, store (all or nothing), report.

>>> from geo.ingest import KINDS
>>> sorted(KINDS)
['incidents', 'models', 'outreach', 'population']
"""

from geo.ingest.importer import DEFAULT_SOURCE, DEMO_SOURCE, ImportReport, Places, import_file
from geo.kinds import KINDS, Kind, kind_named
from geo.ingest.messages import describe
from geo.ingest.readers import FileRefused

__all__ = ["DEFAULT_SOURCE", "DEMO_SOURCE", "FileRefused", "ImportReport", "KINDS", "Kind", "Places",
           "describe", "import_file", "kind_named"]

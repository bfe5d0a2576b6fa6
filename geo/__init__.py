"""Reading and checking geodata: boundaries, units, gates, records, the import and the store.

The floor below ``layers/`` (which computes) and ``dashboard/`` (which shows): nothing here
imports either of them.
"""

"""The agencies the demo's records name, as the province's plans name them.

One home for the names the generator gives its records and the reporting calendar
its reports follow (:mod:`demo.load`).
"""

from __future__ import annotations

import datetime as dt

__all__ = ['LABOUR_MERGER', 'LABOUR', 'HOME_AFFAIRS', 'POLICE', 'COMMUNE_POLICE', 'BORDER_GUARD', 'WOMEN', 'YOUTH', 'COMMUNE_PC', 'JUSTICE']

LABOUR_MERGER = dt.date(2025, 3, 1)
LABOUR = "Sở Lao động - Thương binh và Xã hội"
HOME_AFFAIRS = "Sở Nội vụ"
POLICE = "Công an tỉnh"
COMMUNE_POLICE = "Công an xã"
BORDER_GUARD = "Bộ đội Biên phòng tỉnh"
WOMEN = "Hội Liên hiệp Phụ nữ tỉnh"
YOUTH = "Đoàn Thanh niên tỉnh"
COMMUNE_PC = "UBND xã"
JUSTICE = "Sở Tư pháp"

"""The synthetic demo dataset (dữ liệu mô phỏng): deterministic, realistic, never real.

What a new user sees before importing anything: four years (2022–2025) of
incidents, outreach events, prevention models and commune populations, in
the interchange formats real files use (:mod:`geo.records`). The structure
follows the province's plans, not any real record:

- incidents (vụ mua bán người, xuất nhập cảnh trái phép, tin báo, nạn nhân)
  are denser in communes near the gates, Mộc Bài and Xa Mát above all, and
  along the border; they peak in the July–September campaign windows (đợt
  cao điểm) and grow a little each year; illegal crossings are the most
  numerous, then tips, then trafficking cases and victims;
- records dated before 01/7/2025 name the former communes (by code, or by
  name + district, written as spreadsheets write them: without diacritics,
  "X. …", upper case), later ones the 2025 communes; some crossings and tips
  carry only a point, at least 150 m inside their commune;
- victims never carry a location, and no table holds a person's name;
- every crossing, case and victim has exactly one outcome (its ``status``,
  :data:`geo.kinds.OUTCOMES`), as far as it has gone by the end of the
  period: a crossing is still being verified (``verified``) until it is
  handled, then sanctioned (about two thirds), warned and educated,
  deported or prosecuted, about seed 004's mix (27, 6 and 8 of 41 cases);
  a victim is received, verified, supported, then returned home; cases and
  tips climb the targets' ladder (received, verified, prosecuted, tried);
- outreach (truyền thông) follows risk and the agencies' seats, and doubles
  in the campaign windows; each row carries the figures its format counts
  (:data:`geo.kinds.OUTREACH_FIGURES`: news items, conference sites,
  groups and core members …), and law books, job counselling and contests
  are added as seed 004's agencies report them; prevention models (mô hình)
  cover the key communes first, intensive models in about 30 % of them;
- population per 2025 commune is drawn from the registry's official area and
  the unit's kind (wards denser), about 2.9 million in all.
- the reports of 2024 (:mod:`layers.reporting`): the incidents and outreach of
  the six provincial agencies that hold records come as the reports each
  agency sent the Standing Office, span by span, each on the day it was
  received (:data:`_REPORTS_2024`); three arrive late (the campaign's, the six
  months', the year's), and the other agencies of the plan (tay_ninh_2024)
  send nothing.

Outcomes, outreach figures and the added formats are drawn from a second
generator seeded from the same seed (``[seed, 1]``), so the records the
first one draws are those of the earlier demo. The same seed gives
byte-identical files; the manifest says the data is synthetic.

The package sits above ``geo/`` (it writes through the importer) and below
``dashboard/`` (the server calls :func:`import_demo` on a fresh store); ``data/``
keeps the bundled files only. Its modules: :mod:`demo.generate` draws the
records, :mod:`demo.written` writes how each names its commune,
:mod:`demo.files` writes the CSV files, :mod:`demo.load` imports them through the
real importer, once, and files the agencies' reports; :mod:`demo.agencies` names
the agencies.
"""

from demo.files import write_demo
from demo.generate import DEFAULT_SEED, DemoDataset, commune_risk, generate_demo
from demo.load import import_demo

__all__ = ["DEFAULT_SEED", "DemoDataset", "commune_risk", "generate_demo", "import_demo",
           "write_demo"]

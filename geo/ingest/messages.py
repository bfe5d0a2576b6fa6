"""Why a row or a file was refused, in Vietnamese (default) and English.

Every rejection carries a reason code (``date.future``) and its parameters;
the text is made here, in the reader's language, by :func:`describe`. The
codes are stable: the quarantine and the rejects files keep them, so a
report can be re-read in either language.
"""

from __future__ import annotations

__all__ = ["MESSAGES", "describe"]

MESSAGES: dict[str, dict[str, str]] = {
    # -- rows ------------------------------------------------------------------
    "required.missing": {
        "vi": "Thiếu {column} (bắt buộc)",
        "en": "{column} is required and empty",
    },
    "date.unreadable": {
        "vi": "'{value}' không phải ngày hợp lệ; ghi theo dạng dd/mm/yyyy",
        "en": "'{value}' is not a date; write it as dd/mm/yyyy",
    },
    "date.impossible": {
        "vi": "Ngày '{value}' không tồn tại",
        "en": "'{value}' is not a real date (no such day in that month)",
    },
    "date.future": {
        "vi": "Ngày {value} ở tương lai (sau {today})",
        "en": "{value} is in the future (after {today})",
    },
    "date.too_old": {
        "vi": "Ngày {value} trước 01/01/2000",
        "en": "{value} is before 01/01/2000",
    },
    "date.end_before_start": {
        "vi": "Ngày kết thúc {value} trước ngày bắt đầu {start}",
        "en": "end date {value} is before the start date {start}",
    },
    "number.unreadable": {
        "vi": "'{value}' không phải số nguyên",
        "en": "'{value}' is not a whole number",
    },
    "number.out_of_range": {
        "vi": "{column} = {value} ngoài khoảng cho phép ({minimum} – {maximum})",
        "en": "{column} = {value} is outside {minimum} – {maximum}",
    },
    "number.too_large": {
        "vi": "{column} = {value} quá lớn",
        "en": "{column} = {value} is too large",
    },
    "date.implausible": {
        "vi": "Ngày '{value}' có năm không hợp lý",
        "en": "'{value}' has an implausible year",
    },
    "number.negative": {
        "vi": "{column} không được âm ({value})",
        "en": "{column} cannot be negative ({value})",
    },
    "population.subset": {
        "vi": "Dân số 14–60 tuổi ({value}) lớn hơn tổng dân số ({population})",
        "en": "population aged 14–60 ({value}) exceeds the population ({population})",
    },
    "choice.unknown": {
        "vi": "'{value}' không phải giá trị hợp lệ của {column}; cho phép: {allowed}",
        "en": "'{value}' is not a valid {column}; allowed: {allowed}",
    },
    "status.not_for_type": {
        "vi": "Tình trạng/kết quả xử lý '{value}' không dùng cho loại '{type_label}'; "
              "loại này chỉ nhận: {allowed}",
        "en": "status (outcome) '{value}' does not apply to a {type} record; a {type} takes: "
              "{allowed}",
    },
    "coords.partial": {
        "vi": "Phải ghi đủ cả vĩ độ và kinh độ",
        "en": "lat and lon must be given together",
    },
    "coords.unreadable": {
        "vi": "Tọa độ '{value}' không đọc được",
        "en": "coordinate '{value}' is not a number",
    },
    "coords.swapped": {
        "vi": "Vĩ độ và kinh độ có vẻ bị đảo: ({lat}, {lon}) nằm ngoài tỉnh",
        "en": "lat and lon look swapped: ({lat}, {lon}) lies outside the province",
    },
    "point.outside": {
        "vi": "Điểm ({lat}, {lon}) nằm ngoài địa bàn tỉnh",
        "en": "point ({lat}, {lon}) lies outside the province",
    },
    "geometry.not_point": {
        "vi": "Đối tượng có dạng hình học {value}, không phải điểm",
        "en": "the feature's geometry is a {value}, not a point",
    },
    "commune.missing": {
        "vi": "Không có mã xã, tên xã hay tọa độ để xác định xã",
        "en": "no commune code, commune name or coordinates to place the record",
    },
    "commune.unknown_code": {
        "vi": "Mã xã {value} không thuộc {unit_set}",
        "en": "commune code {value} is not one of the {unit_set}",
    },
    "commune.unknown_name": {
        "vi": "Không tìm thấy xã '{value}' trong {unit_set}",
        "en": "commune '{value}' is not one of the {unit_set}",
    },
    "commune.point_elsewhere": {
        "vi": "Hồ sơ ghi {commune} ({named_code}) nhưng điểm ({lat}, {lon}) nằm ở {point_commune} "
              "({point_code}), xã cũ nay thuộc {point_new} ({point_new_code}), không thuộc "
              "{commune}; sửa mã/tên xã hoặc tọa độ",
        "en": "the record names {commune} ({named_code}) but its point ({lat}, {lon}) lies in "
              "{point_commune} ({point_code}), a former commune now part of {point_new} "
              "({point_new_code}), not of {commune}; correct the commune or the point",
    },
    "commune.ambiguous": {
        "vi": "Tên xã '{value}' trùng nhiều đơn vị: {candidates}",
        "en": "commune name '{value}' fits several units: {candidates}",
    },
    "duplicate.in_file": {
        "vi": "Mã hồ sơ {value} đã có ở dòng {first_row} của tệp với nội dung khác",
        "en": "record id {value} already appears in row {first_row} of this file "
              "with other content",
    },
    "duplicate.conflict": {
        "vi": "Mã hồ sơ {value} đã được lưu với nội dung khác",
        "en": "record id {value} is already stored with other content",
    },
    # -- files -----------------------------------------------------------------
    "file.unreadable": {
        "vi": "Không đọc được tệp {file}: {error}",
        "en": "cannot read {file}: {error}",
    },
    "file.ragged": {
        "vi": "Dòng {line} của tệp {file} có {found} ô nhưng dòng tiêu đề chỉ có {expected} cột; "
              "kiểm tra dấu phân cách (dấu phẩy, chấm phẩy) và dấu ngoặc kép",
        "en": "line {line} of {file} has {found} cells but the header row has {expected} "
              "columns; check the delimiter (comma, semicolon) and the quotes",
    },
    "file.unclosed_quote": {
        "vi": "Tệp {file}: dấu ngoặc kép mở ở dòng {row} không được đóng",
        "en": "{file}: a quote opened in row {row} is never closed",
    },
    "file.format": {
        "vi": "Định dạng tệp '{suffix}' không được hỗ trợ; dùng CSV, XLSX hoặc GeoJSON",
        "en": "file type '{suffix}' is not supported; use CSV, XLSX or GeoJSON",
    },
    "file.empty": {
        "vi": "Tệp {file} không có dòng dữ liệu nào",
        "en": "{file} has no data rows",
    },
    "file.missing_columns": {
        "vi": "Thiếu cột bắt buộc: {columns}",
        "en": "required columns are missing: {columns}",
    },
    "file.no_commune_column": {
        "vi": "Cần ít nhất một trong các cột: Mã xã, Xã/Phường, hoặc Vĩ độ + Kinh độ",
        "en": "the file needs a commune code, a commune name, or lat + lon columns",
    },
    "file.duplicate_columns": {
        "vi": "Nhiều cột cùng nghĩa '{column}': {headers}",
        "en": "several columns mean '{column}': {headers}",
    },
    "file.personal_data": {
        "vi": "Tệp có cột chứa thông tin cá nhân ({columns}); hệ thống không lưu họ tên, "
              "số giấy tờ, số điện thoại, ngày sinh hay địa chỉ. Xóa các cột này rồi nhập lại",
        "en": "the file has columns with personal data ({columns}); names, ID numbers, "
              "phone numbers, birth dates and addresses are never stored. Remove these "
              "columns and import again",
    },
    "file.strict": {
        "vi": "Chế độ nghiêm ngặt: {rejected} dòng bị loại nên không nhập dòng nào",
        "en": "strict mode: {rejected} rows were rejected, so nothing was imported",
    },
    "file.mismatch": {
        "vi": "Tệp {file} không phải tệp {expected} như phần mở rộng '{suffix}' cho biết "
              "({detail}); tệp bị từ chối và không được đọc",
        "en": "{file} is not the {expected} file its suffix '{suffix}' says ({detail}); "
              "it was refused without being read",
    },
    "file.unsafe": {
        "vi": "Tệp {file} bị từ chối vì lý do an toàn: {detail}",
        "en": "{file} was refused for safety: {detail}",
    },
    "file.too_large": {
        "vi": "Tệp {file} quá lớn ({size} MB; tối đa {limit} MB). Tệp lớn hơn nhập bằng dòng "
              "lệnh borderwatch import trên máy chủ",
        "en": "{file} is too large ({size} MB; at most {limit} MB). Import larger files with "
              "borderwatch import on the server",
    },
    "file.too_many_rows": {
        "vi": "Tệp {file} có hơn {limit} dòng; chia tệp hoặc nhập bằng dòng lệnh "
              "borderwatch import trên máy chủ",
        "en": "{file} has more than {limit} rows; split it, or import it with borderwatch "
              "import on the server",
    },
    "file.too_costly": {
        "vi": "Đọc tệp {file} cần nhiều bộ nhớ hoặc thời gian hơn mức cho phép của một lần nhập; "
              "chia nhỏ tệp hoặc nhập bằng dòng lệnh borderwatch import trên máy chủ",
        "en": "reading {file} needs more memory or time than an import may use; split it, or "
              "import it with borderwatch import on the server",
    },
    "file.bomb": {
        "vi": "Tệp {file} giải nén ra quá lớn ({size} MB từ {packed} MB, tối đa {limit} MB "
              "hoặc gấp {ratio} lần); tệp bị từ chối",
        "en": "{file} unpacks to too much ({size} MB from {packed} MB; at most {limit} MB or "
              "{ratio} times); it was refused",
    },
    "file.not_points": {
        "vi": "Tệp GeoJSON phải chứa điểm",
        "en": "a GeoJSON file of records must hold points",
    },
}

_UNIT_SETS = {
    "vi": {"2025": "các xã, phường từ 01/7/2025", "legacy": "các xã, phường, thị trấn trước 01/7/2025"},
    "en": {"2025": "communes of 2025", "legacy": "communes before 01/07/2025"},
}


def describe(code: str, lang: str = "vi", **params) -> str:
    """The message of reason ``code`` in ``lang`` with its parameters filled in.

    >>> describe("date.future", "en", value="05/08/2031", today="23/11/2026")
    '05/08/2031 is in the future (after 23/11/2026)'
    """
    lang = lang if lang in ("vi", "en") else "vi"
    if "unit_set" in params:
        params["unit_set"] = _UNIT_SETS[lang].get(params["unit_set"], params["unit_set"])
    template = MESSAGES[code][lang]
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return f"{template} {params}"

"""The four record kinds users import: their fields, Vietnamese headers and allowed values.

One table per kind of record the province's plans count (see the plans'
vocabulary: vụ án mua bán người, xuất nhập cảnh trái phép, tin báo, nạn nhân;
truyền thông; mô hình phòng ngừa; dân số). Each field has its English name,
the Vietnamese header the templates use, the other headers real spreadsheets
carry, its type, and for coded fields the allowed values with their
Vietnamese labels. Headers and values match after folding (no diacritics, no
case, punctuation as spaces: :func:`geo.names.fold`).

The one home of a record's fields: the importer reads files by them
(:mod:`geo.ingest`), the store's tables are made of them
(:data:`geo.store.schema.RECORD_TABLES`), the app reads them from there
(:mod:`dashboard.records`).

Outcomes (kết quả xử lý) of incidents
-------------------------------------
How an incident was handled is its ``status`` (header "Tình trạng"; "Kết quả
xử lý" is read as the same column): one column, whose allowed codes depend on
the record's ``type`` (:data:`OUTCOMES`). Trafficking cases and tips keep the
procedural ladder the targets count (:mod:`layers.targets`), so no stored
status changes meaning. A code that does not fit the type is refused
(reason ``status.not_for_type``); an empty status is allowed (not recorded).

===================  ========================================================
``type``             allowed ``status`` codes (Vietnamese label)
===================  ========================================================
``illegal_crossing`` ``administrative_sanction`` (Xử lý hành chính),
                     ``warning_education`` (Cảnh cáo, giáo dục),
                     ``deportation`` (Trục xuất), ``prosecuted`` (Khởi tố),
                     ``verified`` (Xác minh: still being verified, "đang /
                     tiếp tục xác minh", nothing decided yet)
``trafficking_case`` ``received`` (Tiếp nhận), ``verified`` (Xác minh),
                     ``prosecuted`` (Khởi tố), ``tried`` (Xét xử)
``tip``              ``received``, ``verified``, ``prosecuted``, ``tried``
``victim``           ``received`` (Tiếp nhận), ``verified`` (Xác minh),
                     ``supported`` (Hỗ trợ), ``returned_home`` (Hồi hương,
                     trở về)
===================  ========================================================

The persons of a record (số đối tượng) are its ``persons`` (people crossing,
suspects); victims are ``victims``. Seed 004's "xử lý hành chính 27 vụ, 68
đối tượng" is: records of type ``illegal_crossing`` with status
``administrative_sanction`` (27), the sum of their ``persons`` (68).

Outreach figures (truyền thông)
-------------------------------
One row is one activity, or several of one format in one commune; its
figures are plain counts, each in its own column named by its unit:

================  ==========================  ===============================
field             header                      unit
================  ==========================  ===============================
``sessions``      Số cuộc/buổi/lớp            sessions, meetings, classes,
                                              contests, news items (empty: 1)
``participants``  Số người tham dự            participants, trainees,
                                              job-counselling contacts
                                              (lượt người)
``sites``         Số điểm (điểm cầu/tủ sách)  conference sites, law bookcases
``materials``     Số tài liệu                 copies (tờ, quyển)
``groups``        Số nhóm (Zalo/Facebook)     social-media groups
``members``       Số thành viên nòng cốt      core members
================  ==========================  ===============================

Formats (``format``): ``meeting``, ``school_session``, ``broadcast``,
``leaflets``, ``social_media``, ``training``, ``campaign``, ``law_books``
(Sách, tủ sách pháp luật), ``job_counselling`` (Tư vấn, giới thiệu việc làm),
``contest`` (Hội thi). :data:`OUTREACH_FIGURES` says which figures each
format reports, as seed 004 counts them. An empty ``sessions`` counts one
for the formats that count sessions (:mod:`layers.reach`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from geo.names import fold

__all__ = ["INCIDENT_TYPES", "INCIDENT_TYPE_CODES", "KINDS", "OUTCOMES", "OUTREACH_FIGURES", "OUTREACH_FORMATS",
           "STATUSES", "Choice", "Field", "Kind", "kind_named", "outcomes_of"]


@dataclass(frozen=True)
class Choice:
    """One allowed value of a coded field: its code, Vietnamese label and other spellings."""

    code: str
    label_vi: str
    aliases: tuple[str, ...] = ()

    def keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(fold(t) for t in (self.code, self.label_vi, *self.aliases)))


@dataclass(frozen=True)
class Field:
    """One column of an interchange file.

    ``type`` is one of: text, code (a commune code), date, int, float,
    choice (one of ``choices``), year.
    """

    name: str
    header_vi: str
    type: str = "text"
    required: bool = False
    aliases: tuple[str, ...] = ()
    choices: tuple[Choice, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    #: Dates after today are accepted (a planned end date); otherwise they are refused.
    future: bool = False

    def header_keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(fold(t) for t in (self.name, self.header_vi, *self.aliases)))


@dataclass(frozen=True)
class Kind:
    """A record kind: its fields and how its records are keyed and dated."""

    name: str
    label_vi: str
    fields: tuple[Field, ...]
    #: The field whose date selects the unit set (old units before 01/7/2025); None: 2025 units.
    date_field: str | None
    #: Fields that together identify a record when the file has no ``record_id``.
    key_fields: tuple[str, ...] = ("record_id",)
    notes: tuple[str, ...] = field(default=())

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


_COMMUNE_FIELDS = (
    Field("commune_code", "Mã xã", "code", aliases=("ma xa phuong", "ma don vi", "code",
                                                     "commune code", "ma dvhc", "ward code")),
    Field("commune", "Xã/Phường", aliases=("xa", "phuong", "xa phuong", "xa phuong thi tran",
                                           "ten xa", "ward", "don vi hanh chinh")),
    Field("district", "Huyện", aliases=("huyen", "quan huyen", "huyen thi xa thanh pho",
                                        "huyen thi")),
)
_AGENCY = Field("agency", "Đơn vị", aliases=("don vi thuc hien", "co quan", "don vi chu tri",
                                              "co quan thu ly"))
_RECORD_ID = Field("record_id", "Mã hồ sơ", required=True,
                   aliases=("ma", "id", "so ho so", "ma so", "record id", "stt ho so"))

INCIDENT_TYPES = (
    Choice("trafficking_case", "Vụ mua bán người",
           ("mua ban nguoi", "vu an mua ban nguoi", "trafficking", "trafficking case", "mbn")),
    Choice("illegal_crossing", "Xuất, nhập cảnh trái phép",
           ("xuat nhap canh trai phep", "xuat canh trai phep", "nhap canh trai phep",
            "xnc trai phep", "illegal crossing", "vuot bien")),
    Choice("tip", "Tin báo, tố giác",
           ("tin bao", "to giac", "to giac tin bao", "tin bao to giac", "report",
            "tip report", "duong day nong 111")),
    Choice("victim", "Nạn nhân được tiếp nhận",
           ("nan nhan", "nan nhan duoc giai cuu", "nan nhan duoc tiep nhan ho tro",
            "tiep nhan nan nhan", "victim received")),
)
#: Their codes alone, in the same order (what the layers count by).
INCIDENT_TYPE_CODES = tuple(choice.code for choice in INCIDENT_TYPES)
#: Every status (outcome) code; which ones a record may take depends on its type (OUTCOMES).
STATUSES = (
    Choice("received", "Tiếp nhận", ("moi tiep nhan", "da tiep nhan", "received")),
    Choice("verified", "Xác minh",
           ("dang xac minh", "da xac minh", "tiep tuc xac minh", "xac minh lam ro",
            "dang xac minh lam ro", "xac minh xac dinh nan nhan", "verified", "verifying",
            "being verified")),
    Choice("prosecuted", "Khởi tố",
           ("da khoi to", "khoi to vu an", "khoi to bi can", "khoi to hinh su", "prosecuted",
            "prosecution")),
    Choice("tried", "Xét xử", ("da xet xu", "dua ra xet xu", "tried", "trial")),
    Choice("administrative_sanction", "Xử lý hành chính",
           ("xu ly hanh chinh", "xu phat hanh chinh", "phat hanh chinh",
            "xu phat vi pham hanh chinh", "xlhc", "administrative sanction",
            "administrative fine", "fined")),
    Choice("warning_education", "Cảnh cáo, giáo dục",
           ("canh cao", "giao duc", "canh cao giao duc", "nhac nho giao duc",
            "warning education", "warning and education", "warning", "warned")),
    Choice("deportation", "Trục xuất",
           ("truc xuat", "da truc xuat", "buoc truc xuat", "deportation", "deported")),
    Choice("supported", "Hỗ trợ",
           ("da ho tro", "duoc ho tro", "ho tro nan nhan", "supported", "support")),
    Choice("returned_home", "Hồi hương, trở về",
           ("hoi huong", "tro ve", "da tro ve", "tro ve dia phuong", "ve dia phuong",
            "da hoi huong", "returned home", "returned", "repatriated")),
)
#: The status codes (outcomes) each incident type may take, in the order the reports list them.
OUTCOMES: dict[str, tuple[str, ...]] = {
    "illegal_crossing": ("administrative_sanction", "warning_education", "deportation",
                         "prosecuted", "verified"),
    "trafficking_case": ("received", "verified", "prosecuted", "tried"),
    "tip": ("received", "verified", "prosecuted", "tried"),
    "victim": ("received", "verified", "supported", "returned_home"),
}


def outcomes_of(incident_type: str) -> tuple[Choice, ...]:
    """The status choices an incident of ``incident_type`` may take (KeyError if unknown).

    >>> [c.code for c in outcomes_of("victim")]
    ['received', 'verified', 'supported', 'returned_home']
    """
    by_code = {c.code: c for c in STATUSES}
    return tuple(by_code[code] for code in OUTCOMES[incident_type])


OUTREACH_FORMATS = (
    Choice("meeting", "Hội nghị, nói chuyện chuyên đề",
           ("hoi nghi", "hop", "noi chuyen", "tuyen truyen truc tiep", "hop dan", "toa dam")),
    Choice("school_session", "Buổi tuyên truyền tại trường học",
           ("truong hoc", "ngoai khoa", "sinh hoat duoi co", "school", "school session")),
    Choice("broadcast", "Tin, bài, phát thanh, truyền hình",
           ("tin bai", "phat thanh", "truyen hinh", "bao chi", "news", "loa phat thanh")),
    Choice("leaflets", "Tờ rơi, tờ gấp, áp phích",
           ("to roi", "to gap", "ap phich", "pa no", "leaflet", "tai lieu")),
    Choice("social_media", "Mạng xã hội (Zalo, Facebook)",
           ("mang xa hoi", "zalo", "facebook", "social media", "nhom zalo")),
    Choice("training", "Tập huấn, bồi dưỡng", ("tap huan", "boi duong", "training")),
    Choice("campaign", "Chiến dịch, đợt cao điểm",
           ("chien dich", "dot cao diem", "ra quan", "mit tinh", "campaign")),
    Choice("law_books", "Sách, tủ sách pháp luật",
           ("sach phap luat", "tu sach phap luat", "tu sach", "phat hanh sach phap luat",
            "law books", "law bookcase", "law bookcases")),
    Choice("job_counselling", "Tư vấn, giới thiệu việc làm",
           ("tu van viec lam", "gioi thieu viec lam", "tu van gioi thieu viec lam",
            "tu van lao dong viec lam", "job counselling", "job counseling")),
    Choice("contest", "Hội thi",
           ("hoi thi", "cuoc thi", "thi tim hieu", "thi tim hieu phap luat", "contest")),
)
#: The figures each outreach format reports, as seed 004 counts them (the others may be empty).
OUTREACH_FIGURES: dict[str, tuple[str, ...]] = {
    "meeting": ("sessions", "sites", "participants", "materials"),
    "school_session": ("sessions", "participants", "materials"),
    "broadcast": ("sessions",),
    "leaflets": ("materials",),
    "social_media": ("groups", "members", "participants"),
    "training": ("sessions", "participants", "materials"),
    "campaign": ("sessions", "participants", "materials"),
    "law_books": ("materials", "sites"),
    "job_counselling": ("participants",),
    "contest": ("sessions", "participants"),
}
MODEL_TYPES = (
    Choice("zalo_group", "Zalo phòng, chống tội phạm",
           ("zalo", "nhom zalo", "zalo phong chong toi pham", "zalo group")),
    Choice("hotline_keyring", "Móc khóa tiếp nhận thông tin về ANTT",
           ("moc khoa", "moc khoa tiep nhan thong tin", "keyring", "hotline keyring")),
    Choice("cultural_boarding_house", "Khu nhà trọ công nhân văn hóa",
           ("nha tro van hoa", "khu nha tro van hoa", "nha tro cong nhan van hoa",
            "boarding house")),
    Choice("security_camera", "Camera giám sát ANTT",
           ("camera", "camera giam sat", "camera an ninh", "security camera")),
    Choice("border_civil_defence", "Dân phòng xung kích bảo vệ ANTT biên giới",
           ("dan phong xung kich", "to dan phong", "civil defence", "border civil defence")),
    Choice("victim_support", "Hỗ trợ nạn nhân",
           ("ho tro nan nhan", "mo hinh ho tro nan nhan", "victim support")),
    Choice("other", "Khác", ("mo hinh khac",)),
)
MODEL_CLASSES = (
    Choice("intensive", "Chuyên sâu", ("mo hinh chuyen sau",)),
    Choice("integrated", "Lồng ghép", ("mo hinh long ghep",)),
)

_LAT = Field("lat", "Vĩ độ", "float", aliases=("latitude", "y", "vi do n"),
             minimum=-90, maximum=90)
_LON = Field("lon", "Kinh độ", "float", aliases=("longitude", "lng", "long", "x", "kinh do e"),
             minimum=-180, maximum=180)

KINDS: dict[str, Kind] = {
    "incidents": Kind(
        "incidents", "Vụ việc",
        (
            _RECORD_ID,
            Field("date", "Ngày", "date", required=True,
                  aliases=("ngay xay ra", "ngay phat hien", "ngay tiep nhan", "thoi gian")),
            Field("type", "Loại", "choice", required=True, choices=INCIDENT_TYPES,
                  aliases=("loai vu viec", "phan loai", "incident type")),
            *_COMMUNE_FIELDS,
            _LAT,
            _LON,
            Field("persons", "Số đối tượng", "int", minimum=0,
                  aliases=("so nguoi", "doi tuong", "persons", "so nguoi vi pham")),
            Field("victims", "Số nạn nhân", "int", minimum=0, aliases=("nan nhan so luong",)),
            _AGENCY,
            Field("status", "Tình trạng", "choice", choices=STATUSES,
                  aliases=("trang thai", "ket qua xu ly", "tien do", "hinh thuc xu ly",
                           "tinh trang xu ly", "ket qua", "outcome")),
        ),
        date_field="date",
    ),
    "outreach": Kind(
        "outreach", "Hoạt động truyền thông",
        (
            _RECORD_ID,
            Field("date", "Ngày", "date", required=True, aliases=("ngay to chuc", "thoi gian")),
            *_COMMUNE_FIELDS,
            _AGENCY,
            Field("format", "Hình thức", "choice", required=True, choices=OUTREACH_FORMATS,
                  aliases=("hinh thuc tuyen truyen", "loai hoat dong")),
            Field("sessions", "Số cuộc/buổi/lớp", "int", minimum=0,
                  aliases=("so cuoc", "so buoi", "so lop", "so lop tap huan", "so tin bai",
                           "so luot tin bai", "so hoi thi", "so cuoc thi", "so buoi tuyen truyen",
                           "so luot phat song", "sessions")),
            Field("participants", "Số người tham dự", "int", minimum=0,
                  aliases=("so nguoi tham du", "so luot nguoi", "nguoi tham gia", "so luong",
                           "so dai bieu", "so hoc vien", "so luot nguoi duoc tu van",
                           "so luot tu van", "so luot tiep can", "participants", "contacts")),
            Field("sites", "Số điểm (điểm cầu/tủ sách)", "int", minimum=0,
                  aliases=("so diem cau", "diem cau", "so diem", "so tu sach",
                           "so tu sach phap luat", "sites")),
            Field("materials", "Số tài liệu", "int", minimum=0,
                  aliases=("so to roi", "tai lieu phat ra", "so tai lieu phat", "so ban",
                           "so quyen", "so quyen sach", "so to", "copies", "materials")),
            Field("groups", "Số nhóm (Zalo/Facebook)", "int", minimum=0,
                  aliases=("so nhom", "so nhom zalo", "so nhom zalo facebook", "groups")),
            Field("members", "Số thành viên nòng cốt", "int", minimum=0,
                  aliases=("thanh vien nong cot", "so thanh vien", "so tuyen truyen vien",
                           "tuyen truyen vien nong cot", "can bo tuyen truyen vien nong cot",
                           "members", "core members")),
        ),
        date_field="date",
    ),
    "models": Kind(
        "models", "Mô hình phòng ngừa",
        (
            _RECORD_ID,
            *_COMMUNE_FIELDS,
            Field("model_type", "Loại mô hình", "choice", required=True, choices=MODEL_TYPES,
                  aliases=("mo hinh", "ten mo hinh", "model", "type")),
            Field("class", "Phân loại", "choice", choices=MODEL_CLASSES,
                  aliases=("loai", "cap do", "model class", "nhom mo hinh")),
            Field("start_date", "Ngày bắt đầu", "date", required=True,
                  aliases=("ngay thanh lap", "ngay ra mat", "tu ngay", "start")),
            Field("end_date", "Ngày kết thúc", "date", future=True,
                  aliases=("ngay ngung", "den ngay", "end")),
            _AGENCY,
        ),
        date_field="start_date",
    ),
    "population": Kind(
        "population", "Dân số",
        (
            *_COMMUNE_FIELDS,
            Field("year", "Năm", "year", required=True, minimum=2000),
            Field("population", "Dân số", "int", required=True, minimum=0,
                  aliases=("so dan", "tong dan so", "dan so trung binh")),
            Field("population_14_60", "Dân số 14-60 tuổi", "int", minimum=0,
                  aliases=("dan so tu 14 den 60 tuoi", "14 60", "dan so 14 60")),
        ),
        date_field=None,
        key_fields=("commune", "year"),
        notes=("population names the 2025 communes (codes or names of the new units)",),
    ),
}


def kind_named(name: str) -> Kind:
    """The kind called ``name`` (English or Vietnamese), or a ValueError listing the kinds."""
    key = fold(name)
    for kind in KINDS.values():
        if key in (fold(kind.name), fold(kind.label_vi)):
            return kind
    raise ValueError(f"unknown record kind {name!r}; expected one of {', '.join(KINDS)}")

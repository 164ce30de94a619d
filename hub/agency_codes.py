"""The two shapes of an electronic agency code, defined once for the registry, the message models and
the generated docs (contract.md, "Agency codes").

**Older shape, QCVN 102:2016/BTTTT** (issued by Thông tư 10/2016/TT-BTTTT of 1 April 2016):
``V1V2V3.Z1Z2.Y1Y2.MX1X2``, for example ``000.00.00.H49``. Read from the right: ``MX1X2`` is the
level-1 code (a capital letter and two digits: ``H49`` is Quảng Ninh's People's Committee), ``Y1Y2``
level 2, ``Z1Z2`` level 3 and ``V1V2V3`` level 4, each in digits, zeros where a level is not used.
Sources: Quyết định 3739/QĐ-UBND of 3 November 2016 (Quảng Ninh), which restates the shape,
https://vanban123.vn/Quyet-dinh/Quyet-dinh-3739-QD-UBND-nam-2016-ve-ma-dinh-danh-cua-co-quan-nha-nuoc-tinh-Quang-Ninh-tham-gia-trao-doi-van-ban-dien-tu-thong-qua-he-thong-thong-tin-va-co-so-du-lieu-Quan-ly-van-ban-Tinh-Quang-Ninh-86868
and Thái Bình's notice of Quyết định 3982/QĐ-UBND of 27 December 2016, which gives each group's
digits, http://thaibinh.gov.vn/tintuc/Pages/tin-van-hoa-xa-hoi.aspx?ItemID=33954. Dossier codes
built on it: Thông tư 01/2018/TT-VPCP, Article 19 (``V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX``).

**Newer shape, Quyết định 20/2020/QĐ-TTg** of 22 July 2020 ("về mã định danh điện tử của các cơ
quan, tổ chức phục vụ kết nối, chia sẻ dữ liệu với các bộ, ngành, địa phương"), Article 4(1): the code
of a ministry, sector or province is a string of at most 35 characters, divided into groups; the
characters are the dot, the digits 0 to 9 and the capital letters A to Z of the English alphabet; each
group identifies the agency at its level; the groups grow from left to right and are separated by
dots; the first, leftmost group is the level-1 code. The level-1 codes are those the decision lists
(one capital letter and two digits: ``G09`` a ministry, ``H30`` a province's People's Committee),
as amended by Quyết định 09/2025/QĐ-TTg of 14 April 2025 (a merged province keeps the level-1 code of
the old province whose name it took; the others' codes are closed). For example ``H30.01.02``.
Sources: the decision's text,
https://thuvienphapluat.vn/van-ban/Cong-nghe-thong-tin/Quyet-dinh-20-2020-QD-TTg-ma-dinh-danh-dien-tu-co-quan-to-chuc-phuc-vu-ket-noi-chia-se-du-lieu-447895.aspx;
Article 4(1) as reported on 27 July 2020,
https://dientungaynay.vn/chinh-sach-so/tu-159-se-dinh-danh-cac-co-quan-to-chuc-de-thuc-thi-viec-chia-se-du-lieu-trong-chinh-phu-dien-tu
and in English, https://baonghean.vn/en/print/10215879.html;
the 2025 amendment as reported,
https://vneconomy.vn/ma-dinh-danh-dien-tu-cua-hang-loat-tinh-thanh-se-bi-dong-khi-thuc-hien-sap-nhap.htm
and https://baodautu.vn/sua-ma-dinh-danh-dien-tu-cua-bo-nganh-phuc-vu-ket-noi-chia-se-du-lieu-d268140.html.
Article 4(1) fixes no length for the groups after the first (the decision leaves the lower levels to
the Ministry of Information and Communications' guidance and each ministry's or province's own
list), so any non-empty group is accepted.

The two shapes cannot be confused: an older code starts with a digit, a newer one with a letter.
"""

from __future__ import annotations

import re
from typing import Final

QCVN_102_SHAPE: Final = r"[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}"
DECISION_20_SHAPE: Final = r"[A-Z][0-9]{2}(?:\.[0-9A-Z]+)*"
# Either shape, to embed in a larger pattern (a procedure or dossier code). The newer shape's limit
# of 35 characters is not in it: a pattern cannot say it, so each user checks MAX_LENGTH too.
AGENCY_CODE: Final = rf"(?:{QCVN_102_SHAPE}|{DECISION_20_SHAPE})"
MAX_LENGTH: Final = 35
# A dossier code (Thông tư 01/2018/TT-VPCP, Article 19): the agency code that issued it, the day
# (yyMMdd, or yyyyMMdd as the national portal writes it) and the day's sequence number.
DOSSIER_CODE: Final = rf"{AGENCY_CODE}-[0-9]{{6,8}}-[0-9]{{4,8}}"
SHAPES: Final = (
    "000.00.00.H30 (QCVN 102:2016/BTTTT) or H30.01.02 (Quyết định 20/2020/QĐ-TTg: a capital letter "
    "and two digits, then groups of digits and capital letters, each after a dot, 35 characters at most)"
)

_WHOLE: Final = re.compile(AGENCY_CODE)


def is_agency_code(code: str) -> bool:
    """Whether ``code`` has one of the two shapes."""
    return len(code) <= MAX_LENGTH and _WHOLE.fullmatch(code) is not None

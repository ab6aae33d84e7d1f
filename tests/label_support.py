"""Reading labels back the way a person or a scanner would: PDF pages rendered by PDFium at a printer's
resolution, their barcodes decoded by zxing-cpp, their text as PDFium extracts it, and the fonts they embed."""

from __future__ import annotations

import io
from typing import Any

import pypdf
import pypdfium2  # type: ignore[import-untyped]
import zxingcpp
from PIL import Image

from services.shipping.labels import LabelData

THERMAL_DPI = 203  # 8 dots per mm, the common thermal printer

# The label tests' and benches' label: a Taobao store's order, masked as a privacy label prints it, with the
# courier's routing. Each test varies it with dataclasses.replace.
SAMPLE_LABEL = LabelData(
    shipment_id="shp_0123456789abcdef0123",
    order_ref="3000000000123456789",
    carrier="ZTO",
    carrier_name="中通快递",
    number="712345678901",
    sender_name="杭州小铺",
    sender_phone="0571-88886666",
    sender_address="浙江省杭州市余杭区文一西路969号",
    receiver_name="王*",
    receiver_phone="137****5678",
    receiver_address="广东省 深圳市 南山区 科技园南区高新南七道 4 栋 1201 室",
    weight_g=1250,
    store="淘宝 杭州小铺",
    sort_code="380D-56-04",
    package_center="金华包",
)


def render(pdf: bytes, page: int = 0, dpi: int = THERMAL_DPI) -> Image.Image:
    image: Image.Image = pypdfium2.PdfDocument(pdf)[page].render(scale=dpi / 72, grayscale=True).to_pil()
    return image


def barcodes(image: Image.Image) -> list[str]:
    """Every Code 128 symbol found, top to bottom."""
    found = [c for c in zxingcpp.read_barcodes(image) if c.format == zxingcpp.BarcodeFormat.Code128]
    return [c.text for c in sorted(found, key=lambda c: c.position.top_left.y)]


def page_texts(pdf: bytes) -> list[str]:
    """Each page's text as PDFium extracts it (what a viewer's copy and search see), runs of spaces as one."""
    doc = pypdfium2.PdfDocument(pdf)
    return [
        "\n".join(" ".join(line.split()) for line in doc[i].get_textpage().get_text_range().splitlines())
        for i in range(len(doc))
    ]


def fonts(pdf: bytes) -> list[dict[str, Any]]:
    """Every font the pages use: its subtype, base font, and whether its program is embedded (FontFile2)."""
    seen: dict[str, dict[str, Any]] = {}
    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        resources: Any = page["/Resources"]
        for font in resources["/Font"].values():
            font = font.get_object()
            descriptor = font.get("/FontDescriptor")
            seen[str(font["/BaseFont"])] = {
                "subtype": str(font["/Subtype"]),
                "embedded": descriptor is not None and "/FontFile2" in descriptor.get_object(),
                "to_unicode": "/ToUnicode" in font,
            }
    return [{"name": name, **info} for name, info in sorted(seen.items())]


def ink(image: Image.Image, box_mm: tuple[float, float, float, float], dpi: int = THERMAL_DPI) -> float:
    """The share of dark pixels in a box (x0, y0, x1, y1 in mm from the top-left)."""
    px = dpi / 25.4
    x0, y0, x1, y1 = (round(v * px) for v in box_mm)
    crop = image.convert("L").crop((x0, y0, x1, y1))
    histogram = crop.histogram()
    return sum(histogram[:128]) / max(1, crop.width * crop.height)

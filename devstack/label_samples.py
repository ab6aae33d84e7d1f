"""The README's label pictures: a sample label in each size, drawn by shipping's PDF writer and rendered by PDFium
at a thermal printer's 203 dpi, as docs/label-<size>.png, and the same label as ZPL II, printed by zplkit (an
offline ZPL engine, a dev dependency) at 203 dpi, as docs/label-zpl-100x150.png. Run again after a layout change:

    .venv/bin/python -m devstack.label_samples [--out docs]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from services.shipping import label_layout, labels, zpl
from services.shipping.label_privacy import mask_name, mask_phone
from services.shipping.models.base import LabelSize

DPI = 203
# A two-parcel order of a Taobao store, as a privacy label prints it, with the courier's routing.
SAMPLE = labels.LabelData(
    shipment_id="shp_7c1e9a2b4d6f80a1c3e5",
    order_ref="3000000000123456789",
    carrier="ZTO",
    carrier_name="中通快递",
    number="78912345678901",
    sender_name="杭州小铺",
    sender_phone="0571-88886666",
    sender_address="浙江省杭州市余杭区文一西路969号 2 号仓",
    receiver_name=mask_name("欧阳娜娜"),
    receiver_phone=mask_phone("13812345678"),
    receiver_address="广东省 深圳市 南山区 科技园南区高新南七道 深圳软件产业基地 4 栋 B 座 1201 室",
    weight_g=1250,
    store="淘宝 杭州小铺",
    piece=1,
    pieces=2,
    sort_code="380D-56-04",
    package_center="深圳转运中心",
)


def picture(label: labels.LabelData, size: LabelSize, dpi: int = DPI) -> bytes:
    """The label's PDF page as a grayscale PNG."""
    import io

    import pypdfium2  # type: ignore[import-untyped]  # a dev dependency: the image never draws pictures

    page = pypdfium2.PdfDocument(labels.render_one(label, size))[0]
    image = page.render(scale=dpi / 72, grayscale=True).to_pil()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def zpl_picture(label: labels.LabelData, size: LabelSize, dpi: int = DPI) -> bytes:
    """The label's ZPL as a thermal printer prints it (zplkit's render), a grayscale PNG."""
    import io

    import zplkit  # a dev dependency (OSL-3.0): a test and docs tool, never in the image
    from PIL import Image

    d = zpl.DOTS_PER_MM[dpi]
    w, h = (round(v * d) for v in label_layout.page_size(size))
    # zplkit has no ^ID (the job's clean-up of its stored glyphs, which prints nothing)
    body = zpl.render_zpl(label, size, dpi).replace(zpl.CLEANUP.encode(), b"")
    (scene,) = zplkit.render(body, zplkit.Options(profile="specification", width=w, height=h, dpi=dpi)).labels
    raster = scene.rasterize()
    out = io.BytesIO()
    Image.frombytes("L", (raster.width, raster.height), raster.pixels).save(out, format="PNG", optimize=True)
    return out.getvalue()


def write(out: Path, label: labels.LabelData = SAMPLE) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for size in LabelSize:
        path = out / f"label-{size.value}.png"
        path.write_bytes(picture(label, size))
        written.append(path)
    path = out / "label-zpl-100x150.png"
    path.write_bytes(zpl_picture(label, LabelSize.S100X150))
    written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("docs"), help="where the pictures go (docs/)")
    args = parser.parse_args(argv)
    for path in write(args.out):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

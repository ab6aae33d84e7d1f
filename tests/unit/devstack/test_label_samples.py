"""The README's label pictures: one per size at 203 dpi, each the sample label as it prints (its barcodes decode
to the number, the stub's too), and the ones in docs/ drawn by the current writer."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from devstack import label_samples
from services.shipping.models.base import LabelSize
from tests.label_support import barcodes

DOCS = Path(__file__).resolve().parents[3] / "docs"


def test_each_size_gets_its_picture(tmp_path: Path) -> None:
    written = label_samples.write(tmp_path)
    names = ["label-100x150.png", "label-100x180.png", "label-76x130.png", "label-zpl-100x150.png"]
    assert [p.name for p in written] == names
    for path, size in zip(written, [*LabelSize, LabelSize.S100X150], strict=True):
        image = Image.open(path)
        w, h = (float(v) for v in size.value.split("x"))
        # within 2 dots: a ZPL printer's "203 dpi" is 8 dots/mm exactly (203.2 dpi)
        assert abs(image.width - w / 25.4 * 203) < 2
        assert abs(image.height - h / 25.4 * 203) < 2
        number = label_samples.SAMPLE.number
        assert barcodes(image) == [number] * (2 if size == LabelSize.S100X180 else 1)


def test_the_docs_pictures_are_the_current_ones(tmp_path: Path) -> None:
    for path in label_samples.write(tmp_path):
        stale = f"docs/{path.name} is not the current label: .venv/bin/python -m devstack.label_samples"
        assert (DOCS / path.name).read_bytes() == path.read_bytes(), stale

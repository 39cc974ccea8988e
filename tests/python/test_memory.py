"""2,000 predictions leave the process RSS flat: results, their numpy arrays and the images
are all freed (small dynamic-size model at imgsz 32 so it takes seconds)."""
import numpy as np

import kiln


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def test_rss_stays_flat(assets):
    model = kiln.YOLO(assets / "models" / "yolo11n-dynamic.onnx", imgsz=32)
    image = np.random.default_rng(0).integers(0, 255, (24, 32, 3), dtype=np.uint8)

    def run(n):
        for _ in range(n):
            r = model.predict(image, conf=0.0)[0]
            assert r.boxes.data.shape[1] == 6 and r.to_json()

    run(200)  # warm up: allocator pools, lazily built state
    before = rss_mb()
    run(2000)
    grown = rss_mb() - before
    assert grown < 4, f"RSS grew {grown:.1f} MB over 2,000 predictions"

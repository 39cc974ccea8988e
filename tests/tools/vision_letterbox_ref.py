"""Reference pixels for kiln's vision tests, from OpenCV (what Ultralytics uses).

  vision_letterbox_ref.py imread IMAGE OUT.raw            cv2.imread pixels (BGR HWC uint8)
  vision_letterbox_ref.py letterbox IMAGE H W OUT.raw [STRIDE]
                                                         Ultralytics LetterBox(auto=False,
                                                         scaleup=True, center=True) pixels;
                                                         with STRIDE: auto=True (minimal padding)
  vision_letterbox_ref.py make_png OUT.png W H SEED       a smooth + noisy test PNG
  vision_letterbox_ref.py make_exif_jpegs DIR W H         DIR/exif<o>.jpg with EXIF orientation
                                                         o = 1..8 (Pillow) and DIR/exif<o>.raw,
                                                         cv2.imread of each (+ .raw.shape)
Prints the output's "height width" on stdout.
"""
import os
import sys

import cv2
import numpy as np


def letterbox(img, new_shape, ratio=None):
    # Ultralytics 8.4 ultralytics/data/augment.py LetterBox.__call__ with auto=False,
    # scale_fill=False, scaleup=True, center=True, interpolation=cv2.INTER_LINEAR.
    # `ratio` overrides the scale (auto=True letterboxing scales for the unpadded size).
    shape = img.shape[:2]
    r = ratio if ratio is not None else min(new_shape[0] / shape[0], new_shape[1] / shape[1])
    new_unpad = round(shape[1] * r), round(shape[0] * r)
    dw, dh = new_shape[1] - new_unpad[0], new_shape[0] - new_unpad[1]
    dw /= 2
    dh /= 2
    if shape[::-1] != new_unpad:
        img = cv2.resize(img, new_unpad, interpolation=cv2.INTER_LINEAR)
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    return cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(114, 114, 114))


def letterbox_min_pad(img, h, w, stride):
    # LetterBox(auto=True): scale for (h, w), pad each side only to a multiple of stride.
    r = min(h / img.shape[0], w / img.shape[1])
    nw, nh = round(img.shape[1] * r), round(img.shape[0] * r)
    return letterbox(img, (nh + (h - nh) % stride, nw + (w - nw) % stride), ratio=r)


def test_pattern(w, h, seed):
    """BGR gradients plus noise: every pixel differs from its mirror and rotated images."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 / max(w - 1, 1), yy * 255 / max(h - 1, 1), (xx + yy) % 256], -1)
    return np.clip(base + rng.integers(-40, 41, size=base.shape), 0, 255).astype(np.uint8)


def main():
    mode = sys.argv[1]
    if mode == "make_png":
        out, w, h, seed = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        cv2.imwrite(out, test_pattern(w, h, seed))
        print(h, w)
        return
    if mode == "make_exif_jpegs":  # exif<o>.jpg for EXIF orientations 1-8 (Pillow) + cv2.imread of each
        from PIL import Image

        out_dir, w, h = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        for orientation in range(1, 9):
            exif = Image.Exif()
            exif[0x0112] = orientation
            rgb = np.ascontiguousarray(test_pattern(w, h, orientation)[:, :, ::-1])
            path = os.path.join(out_dir, f"exif{orientation}")
            Image.fromarray(rgb).save(path + ".jpg", quality=95, exif=exif.tobytes())
            img = cv2.imread(path + ".jpg", cv2.IMREAD_COLOR)
            np.ascontiguousarray(img).tofile(path + ".raw")
            with open(path + ".raw.shape", "w") as f:
                f.write(f"{img.shape[0]} {img.shape[1]}\n")
        return
    img = cv2.imread(sys.argv[2], cv2.IMREAD_COLOR)
    if img is None:
        sys.exit(f"cv2 cannot read {sys.argv[2]}")
    if mode == "letterbox":
        h, w, out = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
        if len(sys.argv) > 6:
            img = letterbox_min_pad(img, h, w, int(sys.argv[6]))
        else:
            img = letterbox(img, (h, w))
    else:
        out = sys.argv[3]
    np.ascontiguousarray(img).tofile(out)
    print(img.shape[0], img.shape[1])


if __name__ == "__main__":
    main()

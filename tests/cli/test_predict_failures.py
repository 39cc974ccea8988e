"""Bad items do not lose good ones: a folder with an unreadable image predicts the other
images, writes every result and the failure into the JSON, and exits 2 at the end; kiln
val refuses a label path that is a folder (not "no labels"); --device cuda:99 is a clear
error on a machine with GPUs and a loud fallback on one without."""
import json
import os
import shutil
import tempfile

from kiln_cli import ASSETS, Checks, run_kiln

checks = Checks()
check = checks.check
MODEL = os.path.join(ASSETS, "models", "yolo11n.onnx")
IMAGES = os.path.join(ASSETS, "images")
COCO8 = os.path.join(ASSETS, "datasets", "coco8")


def main():
    tmp = tempfile.mkdtemp(prefix="kiln-failures-")
    try:
        folder = os.path.join(tmp, "images")
        shutil.copytree(IMAGES, folder)
        data = open(os.path.join(IMAGES, "bus.jpg"), "rb").read()
        open(os.path.join(folder, "a_truncated.jpg"), "wb").write(data[: len(data) // 3])
        open(os.path.join(folder, "m_empty.png"), "wb").close()
        out, save = os.path.join(tmp, "out.json"), os.path.join(tmp, "save")
        r = run_kiln(["predict", "--model", MODEL, "--source", folder, "--json", out, "--save", save])
        doc = json.load(open(out)) if os.path.exists(out) else {}
        last = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
        checks.expect(r.returncode == 2 and "2 of 9 sources failed (a_truncated.jpg, m_empty.png)" in last,
                      "folder with 2 bad images: exit 2 at the end, naming them", r)
        results = doc.get("results", [])
        good = [e["image"] for e in results if "detections" in e]
        check("the 7 good images are predicted, in order", good == sorted(os.listdir(IMAGES)), str(good))
        check("the bad ones are listed with their errors",
              [os.path.basename(f["source"]) for f in doc.get("failures", [])] == ["a_truncated.jpg", "m_empty.png"]
              and all("error" in e for e in results if e["image"] in ("a_truncated.jpg", "m_empty.png")),
              str(doc.get("failures")))
        check("annotated images written for the good ones", sorted(os.listdir(save)) == sorted(os.listdir(IMAGES)),
              str(sorted(os.listdir(save))) if os.path.isdir(save) else "no folder")

        data_dir = os.path.join(tmp, "coco8")
        shutil.copytree(COCO8, data_dir)
        label = os.path.join(data_dir, "labels", "val", "000000000036.txt")
        os.remove(label)
        os.makedirs(label)
        checks.expect_error("val: a label path that is a folder",
                            ["val", "--model", MODEL, "--data", os.path.join(data_dir, "coco8.yaml"), "--quiet"],
                            ["000000000036.txt", "not a file"])

        env = json.loads(run_kiln(["env", "--json"]).stdout or "{}")
        for cmd in (["val", "--data", os.path.join(COCO8, "coco8.yaml")], ["predict", "--source", IMAGES]):
            r = run_kiln(cmd + ["--model", MODEL, "--device", "cuda:99"])
            if env.get("gpus"):
                checks.expect(r.returncode == 2 and "cuda:99 does not exist" in r.stderr,
                              f"{cmd[0]} --device cuda:99: an error naming the device", r)
            else:
                checks.expect(r.returncode == 0 and "fallback:" in r.stderr and "cuda:99" in r.stderr,
                              f"{cmd[0]} --device cuda:99 without a GPU: a fallback line naming it", r)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish("bad items are listed and skipped, label folders refused, unknown GPUs reported")


if __name__ == "__main__":
    main()

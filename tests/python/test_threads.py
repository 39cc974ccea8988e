"""predict releases the GIL: another Python thread runs while it works (checked without
timing: with a switch interval of 100 s, the main thread gets the GIL before the predicting
thread finishes only if predict gives it up), and two threads on two models get the results
each model gives alone."""
import sys
import threading


import kiln


def test_predict_releases_the_gil(assets):
    model = kiln.YOLO(assets / "models" / "yolo11n-dynamic.onnx", imgsz=320)
    image = kiln._kiln.load_image(str(assets / "images" / "bus.jpg"))
    done = []
    worker = threading.Thread(target=lambda: (model.predict(image), done.append(True)))
    interval = sys.getswitchinterval()
    sys.setswitchinterval(100)
    try:
        worker.start()
        ran_during_predict = not done
    finally:
        sys.setswitchinterval(interval)
    worker.join()
    assert ran_during_predict and done


def test_two_models_in_two_threads(assets):
    paths = [str(assets / "images" / n) for n in ("bus.jpg", "zidane.jpg")]
    models = [kiln.YOLO(assets / "models" / "yolo11n-dynamic.onnx", imgsz=256) for _ in range(2)]
    alone = [m.predict(p)[0].to_json() for m, p in zip(models, paths)]
    together = [None, None]

    def run(i):
        together[i] = models[i].predict(paths[i])[0].to_json()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert together == alone

"""What YOLO.val returns: `kiln val --json`'s figures as attributes shaped like Ultralytics'
metrics objects (metrics.box.map, .map50, .mp, .mr, .maps; metrics.seg / metrics.pose; classify
metrics.top1 / .top5)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np


class Metric:
    """P, R, mAP50 and mAP50-95 over all classes, and per class."""

    def __init__(self, figures: dict[str, Any]) -> None:
        all_ = figures["all"]
        self.mp: float = all_["precision"]
        self.mr: float = all_["recall"]
        self.map50: float = all_["map50"]
        self.map: float = all_["map50_95"]
        self.classes: list[dict[str, Any]] = figures["classes"]

    @property
    def maps(self) -> np.ndarray:
        """mAP50-95 per class id (classes absent from the dataset: the overall mAP, as Ultralytics)."""
        count = max((c["class"] for c in self.classes), default=-1) + 1
        out = np.full(count, self.map)
        for c in self.classes:
            out[c["class"]] = c["map50_95"]
        return out

    def __repr__(self) -> str:
        return f"Metric(mp={self.mp:.4f}, mr={self.mr:.4f}, map50={self.map50:.4f}, map={self.map:.4f})"


class ValMetrics:
    """box (detect, segment, pose, obb), seg (segment), pose (pose); top1 / top5 (classify);
    speed in ms per image; results_dict as `kiln val --json` printed it."""

    def __init__(self, results: dict[str, Any]) -> None:
        self.results_dict = results
        self.task: str = results["task"]
        self.speed: dict[str, float] = results["speed_ms"]
        self.box: Optional[Metric] = Metric(results) if "all" in results else None
        self.seg: Optional[Metric] = Metric(results["mask"]) if "mask" in results else None
        self.pose: Optional[Metric] = Metric(results["pose"]) if "pose" in results else None
        self.top1: Optional[float] = results.get("top1")
        self.top5: Optional[float] = results.get("top5")

    def __repr__(self) -> str:
        if self.box is None:
            return f"ValMetrics(task={self.task!r}, top1={self.top1:.4f}, top5={self.top5:.4f})"
        return f"ValMetrics(task={self.task!r}, box={self.box!r})"

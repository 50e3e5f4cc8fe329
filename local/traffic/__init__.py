"""Synthetic, labelled traffic for a small company (generator) and its replay through the pure scoring
path (evaluate): the demo, the benchmarks and the evaluation tests all start from `generate`."""

from local.traffic.generator import EventLabel, Scenario, Source, TrafficShape, generate

__all__ = ["EventLabel", "Scenario", "Source", "TrafficShape", "generate"]

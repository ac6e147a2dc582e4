"""SimSoM (Truong, Lou, Flammini & Menczer, PNAS Nexus 2024): a sibling model of the influence
model, with its own agents, feeds and step rule, for comparison with the published results
(docs/simsom.md)."""

from .model import SimSoMModel, SimsomResult, quality_from_uniform, run_pair

__all__ = ["SimSoMModel", "SimsomResult", "quality_from_uniform", "run_pair"]

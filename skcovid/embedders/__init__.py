"""Pretrained and fine-tuned CNN backbones as scikit-learn transformers, with an embedding cache."""

from ._cache import clear_embedding_cache, forward_pass_count, reset_forward_pass_count
from ._finetuned import FineTunedEmbedder
from ._malloc import tune_malloc
from ._pretrained import PretrainedEmbedder

__all__ = [
    "FineTunedEmbedder",
    "PretrainedEmbedder",
    "clear_embedding_cache",
    "forward_pass_count",
    "reset_forward_pass_count",
    "tune_malloc",
]

"""Pretrained and fine-tuned CNN backbones and classical texture features as scikit-learn
transformers, with an embedding cache."""

from ._cache import EmbeddingCache, clear_embedding_cache, forward_pass_count, reset_forward_pass_count
from ._finetuned import FineTunedEmbedder
from ._malloc import tune_malloc
from ._pretrained import PretrainedEmbedder
from ._texture import TextureEmbedder
from ._union import EmbedderUnion

__all__ = [
    "EmbedderUnion",
    "EmbeddingCache",
    "FineTunedEmbedder",
    "PretrainedEmbedder",
    "TextureEmbedder",
    "clear_embedding_cache",
    "forward_pass_count",
    "reset_forward_pass_count",
    "tune_malloc",
]

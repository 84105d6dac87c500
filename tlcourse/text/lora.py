"""LoRA adapters (Hu et al. 2021) on the sentence encoder, with ``peft``.

LoRA freezes every pretrained weight ``W`` and learns a low-rank change beside it:
``W x + (alpha / r) * B A x`` with ``A`` ``[r, d_in]`` and ``B`` ``[d_out, r]`` (``B`` starts at
zero, so training starts from the pretrained model exactly). Only ``A``, ``B`` and the modules
named in ``keep_trainable`` (the classifier head) train; what must be saved is those few tensors,
a few hundred KB instead of a ~90 MB copy of the encoder.

Example:
    >>> model = TextClassifier(load_encoder())                         # doctest: +SKIP
    >>> lora = add_lora(model, r=8)                                    # doctest: +SKIP
    >>> trainable_parameters(lora)                                     # doctest: +SKIP
    74498
    >>> plain = merge_lora(lora)      # the TextClassifier again, LoRA folded in  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from ..errors import TlcourseError


def add_lora(model: nn.Module, r: int = 8, alpha: float = 16, dropout: float = 0.1,
             targets: Sequence[str] = ("query", "value"),
             keep_trainable: Sequence[str] = ("head",)) -> nn.Module:
    """``model`` wrapped by ``peft`` with LoRA adapters on every linear layer named in ``targets``.

    Args:
        model: any torch module holding ``transformers`` attention layers (a
            :class:`~tlcourse.text.TextClassifier`, a :class:`~tlcourse.text.SentenceEncoder` or
            a bare ``BertModel``). It is modified in place (peft injects the adapters); pass a
            copy to keep the original.
        r: the adapters' rank (Hu et al.: 1-8 suffice on GLUE).
        alpha: the scale numerator: the change is multiplied by ``alpha / r``.
        dropout: dropout on the adapters' input.
        targets: names of the linear layers that get adapters (BERT's attention: ``query``,
            ``key``, ``value``; its feed-forward: ``intermediate.dense``, ``output.dense``).
        keep_trainable: child modules trained in full and saved with the adapter (the new
            classifier head: it starts at random, so it must learn). Names ``model`` lacks are
            ignored.

    Returns:
        The ``peft.PeftModel``; only the adapters and ``keep_trainable`` have ``requires_grad``.

    Raises:
        TlcourseError: a bad rank/alpha/dropout, or no layer of ``model`` matches ``targets``.
    """
    import peft

    if not isinstance(r, int) or r < 1:
        raise TlcourseError(f"LoRA rank r must be a whole number >= 1, not {r!r}")
    if not alpha > 0 or not 0 <= dropout < 1:
        raise TlcourseError(f"LoRA needs alpha > 0 and 0 <= dropout < 1 (got alpha={alpha}, "
                            f"dropout={dropout})")
    targets = [targets] if isinstance(targets, str) else list(targets)
    linear = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not any(n == t or n.endswith("." + t) for n in linear for t in targets):
        raise TlcourseError(f"no linear layer named {targets} in {type(model).__name__}; "
                            f"BERT's are query, key, value, dense")
    children = dict(model.named_children())
    save = [name for name in keep_trainable if name in children]
    cfg = peft.LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets,
                          modules_to_save=save or None, bias="none")
    return peft.get_peft_model(model, cfg)


def trainable_parameters(model: nn.Module) -> int:
    """How many parameters ``model`` trains (``requires_grad``), each counted once."""
    seen, total = set(), 0
    for p in model.parameters():
        if p.requires_grad and id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total


def merge_lora(model: nn.Module) -> nn.Module:
    """The model ``add_lora`` wrapped, with each adapter folded into its weight
    (``W + alpha/r * B A``) and no peft layer left: a plain ``transformers``/torch model that
    computes the same outputs, exportable like one that was never adapted. ``model`` is
    consumed (its layers are reused); a model without adapters is returned unchanged."""
    import peft

    if not isinstance(model, peft.PeftModel):
        return model
    return model.merge_and_unload()


def adapter_bytes(model: nn.Module) -> int:
    """Bytes of what a LoRA model must save: its adapters and the modules trained in full
    (``peft``'s adapter state dict), serialised as safetensors."""
    import peft
    from safetensors.torch import save

    state = peft.get_peft_model_state_dict(model)
    return len(save({k: v.detach().contiguous() for k, v in state.items()}))


def full_bytes(model: nn.Module) -> int:
    """Bytes of a full copy of ``model``'s weights (every parameter and buffer), serialised as
    safetensors: what a fine-tuned model must save."""
    from safetensors.torch import save

    state, seen = {}, set()
    for k, v in model.state_dict().items():
        if v.data_ptr() not in seen or v.numel() == 0:  # tied weights are stored once
            seen.add(v.data_ptr())
            state[k] = v.detach().contiguous()
    return len(save(state))

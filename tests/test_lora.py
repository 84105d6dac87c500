"""LoRA adapters (tlcourse.text.lora) on a tiny random BERT: fast, no weights needed."""

import pytest
import torch
from torch import nn

from tlcourse.errors import TlcourseError
from tlcourse.text.lora import adapter_bytes, add_lora, full_bytes, merge_lora, trainable_parameters


class _Tiny(nn.Module):
    """A 2-layer, 32-wide BERT and a 2-class head: the shape of TextClassifier, in miniature."""

    def __init__(self):
        super().__init__()
        from transformers import BertConfig, BertModel

        torch.manual_seed(0)
        self.body = BertModel(BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2,
                                         num_attention_heads=2, intermediate_size=64))
        self.head = nn.Linear(32, 2)

    def forward(self, ids):
        return self.head(self.body(input_ids=ids).last_hidden_state.mean(1))


def _ids():
    return torch.randint(0, 50, (4, 7), generator=torch.Generator().manual_seed(1))


def test_lora_trains_only_adapters_and_head():
    model = add_lora(_Tiny(), r=4)
    # query and value in each of 2 layers: A [4, 32] + B [32, 4]; head 32*2 + 2
    assert trainable_parameters(model) == 2 * 2 * (4 * 32 + 32 * 4) + 66
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.1)
    loss = nn.functional.cross_entropy(model(_ids()), torch.tensor([0, 1, 0, 1]))
    loss.backward()
    opt.step()
    assert all(torch.equal(p, frozen[n]) for n, p in model.named_parameters() if n in frozen)
    lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert lora_b and all(p.abs().sum() > 0 for p in lora_b)  # B starts at 0 and moved


def test_merge_gives_a_plain_model_with_the_same_outputs():
    model = add_lora(_Tiny(), r=4)
    with torch.no_grad():  # a nonzero adapter, as after training
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.5)
    model.eval()
    ids = _ids()
    before = model(ids)
    plain = merge_lora(model)
    assert isinstance(plain, _Tiny)
    assert not any("lora" in n for n, _ in plain.named_parameters())
    assert torch.allclose(plain(ids), before, atol=1e-5)


def test_adapter_is_a_small_fraction_of_a_full_copy():
    model = add_lora(_Tiny(), r=4)
    small, big = adapter_bytes(model), full_bytes(merge_lora(model))
    assert 0 < small < big / 10


def test_bad_settings_say_what_to_use():
    with pytest.raises(TlcourseError, match="query, key, value"):
        add_lora(_Tiny(), targets=("nonexistent",))
    with pytest.raises(TlcourseError, match="rank"):
        add_lora(_Tiny(), r=0)

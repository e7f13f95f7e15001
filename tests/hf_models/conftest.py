"""Tiny Hugging Face models built in the test session (nothing is downloaded).

A byte-level BPE tokenizer is trained with ``tokenizers`` on a few sentences; a 2-layer GPT-2
(text generation, with a chat template), a 1-layer BERT classifier and a LoRA adapter (``peft``)
on the GPT-2 are built from small configs with fixed seeds and saved to a session directory.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("peft")

import labkeep  # noqa: E402

SENTENCES = [
    "the cat sat on the mat",
    "the dog ran in the park",
    "a bird can fly over the sea",
    "paris is the capital of france",
    "hello there, how are you today?",
    "user: hi assistant: hello",
    "i love this movie, it was great",
    "this film was terrible and boring",
]
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)


def build_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=320,
        special_tokens=["<unk>", "<pad>", "<eos>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(SENTENCES, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", eos_token="<eos>", bos_token="<eos>"
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """Paths and objects of the tiny models: gpt2 (+ lora adapter), bert classifier, tokenizer."""
    from peft import LoraConfig, get_peft_model
    from transformers import BertConfig, BertForSequenceClassification, GPT2Config, GPT2LMHeadModel

    root = tmp_path_factory.mktemp("tiny-models")
    tok = build_tokenizer()
    eos, pad = tok.eos_token_id, tok.pad_token_id
    torch.manual_seed(0)
    gpt_cfg = GPT2Config(vocab_size=len(tok), n_positions=128, n_embd=32, n_layer=2, n_head=2,
                         bos_token_id=eos, eos_token_id=eos, pad_token_id=pad)  # fmt: skip
    gpt = GPT2LMHeadModel(gpt_cfg).eval()
    gpt.generation_config.pad_token_id = pad
    gpt_dir = str(root / "gpt2")
    gpt.save_pretrained(gpt_dir)
    tok.save_pretrained(gpt_dir)
    gpt = GPT2LMHeadModel.from_pretrained(gpt_dir).eval()  # name_or_path is the local checkpoint

    torch.manual_seed(1)
    bert_cfg = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                          intermediate_size=64, max_position_embeddings=128, num_labels=2,
                          id2label={0: "NEGATIVE", 1: "POSITIVE"}, label2id={"NEGATIVE": 0, "POSITIVE": 1},
                          pad_token_id=pad)  # fmt: skip
    bert = BertForSequenceClassification(bert_cfg).eval()

    torch.manual_seed(2)
    lora = get_peft_model(
        GPT2LMHeadModel.from_pretrained(gpt_dir),
        LoraConfig(r=4, lora_alpha=8, target_modules=["c_attn"], fan_in_fan_out=True, lora_dropout=0.0),
    )
    with torch.no_grad():  # LoRA starts as a no-op (B = 0): make the adapter change the outputs
        for name, param in lora.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)
    lora.eval()
    return {"tokenizer": tok, "gpt": gpt, "gpt_dir": gpt_dir, "bert": bert, "lora": lora, "root": root}


@pytest.fixture
def tracking(tmp_path):
    labkeep.set_tracking_uri(f"sqlite:///{tmp_path}/lk.db")
    return labkeep.set_experiment("hf")

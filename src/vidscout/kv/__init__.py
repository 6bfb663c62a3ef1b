"""KV-cache retrieval (ReKV-style): per-segment caches on disk, retrieved and spliced to answer a question."""

from vidscout.kv.answer import KVEngine, KVOptions, KVRun, answer_with_kv, kv_engine, precompute_kv

__all__ = ["KVEngine", "KVOptions", "KVRun", "answer_with_kv", "kv_engine", "precompute_kv"]

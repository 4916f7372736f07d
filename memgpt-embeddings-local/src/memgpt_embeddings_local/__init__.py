"""The ``local`` embedding provider for pymemgpt: search by meaning on the CPU, offline, with no download.

It ships a static model (``static-minilm-l6-v2``, 256 dimensions) derived from
``sentence-transformers/all-MiniLM-L6-v2`` with model2vec, and runs any other
model2vec model named by a Hugging Face id or a local folder. See README.md.
"""

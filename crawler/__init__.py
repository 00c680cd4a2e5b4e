"""parkcorpus: a corpus builder for the 中国产业园区招商网 network of Z-BlogPHP/tpure sites."""

__version__ = "0.1.0"

"""The demo chain: 鲜邻便利, a convenience-store chain in Wuhan, and 楚麓烘焙, a bakery brand beside it.

`data` holds the facts (stores, catalog, staff), `images` draws product pictures with Pillow,
`seed` writes them through the domain services. No models live here.
"""

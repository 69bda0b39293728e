# ----


def _ztf_band(fid):
    """The band's name of a ZTF filter id (1 g, 2 r, 3 i), as Sieve's `band`."""
    return np.asarray(pd.Series(fid).map({1: "g", 2: "r", 3: "i"}).astype(object).where(lambda s: s.notna(), None), dtype=object)


def _ztf_isdiffpos(isdiffpos):
    """ZTF's isdiffpos as 't' or 'f' (ZTF writes 't'/'1' and 'f'/'0'), None otherwise, as Sieve's `isdiffpos`."""
    return np.asarray(pd.Series(isdiffpos).map({"t": "t", "1": "t", "f": "f", "0": "f"}).astype(object).where(lambda s: s.notna(), None), dtype=object)

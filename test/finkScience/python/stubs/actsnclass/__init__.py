"""actsnclass stub: actsnfink's package __init__ imports it for its training code, which is not run here."""


class DataBase:
    pass

"""The course website (``./course book``): the student versions of the notebooks, built by
Jupyter Book without running them.

``pictures`` keeps a picture of each widget in its notebook output (``./course regen`` writes it)
and turns it into the site's static preview; ``links`` links the prose's notebook references;
``pages`` makes each page's notebook and the front page; ``build`` runs Jupyter Book.
"""

"""Excel front end of scplan: the Supply Chain Planner ribbon (xlwings).

``ribbon`` has one function per button, ``excel_io`` reads and writes an xlwings Book,
``build`` makes and installs the ``.xlam`` (``scplan addin build|install``), and
``excel/`` holds the ribbon XML and the VBA callbacks as text.
"""

"""Training (floor 5): one loop that owns the optimizer boilerplate (``loop``), one small file per model.

    fasdiff-lite train compressor|autoencoder|prior|fasdiff --faces ... --steps ... [--no-resume] [--export DIR]

or from a notebook: ``from fasdiff_lite.train import compressor; compressor.train(compressor.Config(...))``.
"""

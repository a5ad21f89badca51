"""The notebook explorers (top floor: faces for people, no model logic), one module per notebook::

    common       shared: input checks, PNG rendering, default faces, one colour per codec, the FaSDiff setup
    bands        01 frequency of faces: the band explorer
    rate         02 learned compression basics: bits and bytes, quantization, the rate–distortion explorer
    hf           03 the high-frequency-sensitive compressor: errors band by band
    prompts      05 visual prompts
    lowfreq      06 low-frequency enhancement
    end_to_end   07 FaSDiff end to end: the decode explorer, the ablations at equal bytes

Each explorer is a pure function (plain arguments in, a dict of arrays and numbers out; the tests call it)
and a widget that only wires controls to it. Notebooks 04 and 08 call the library directly.
"""

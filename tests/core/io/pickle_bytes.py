"""Hand-built pickle opcodes: hostile files exactly as an attacker writes them (no real class,
no real object needed, nothing executed while building them)."""

import pickle
import struct

PERSISTENT = ("torch_utils.persistence", "_reconstruct_persistent_obj")


def glob(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def text(s):
    data = s.encode("utf-8", "surrogatepass")
    return b"X" + struct.pack("<I", len(data)) + data


def integer(n):
    if 0 <= n < 2**31:
        return b"J" + struct.pack("<i", n)
    data = n.to_bytes((n.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(data)]) + data if len(data) < 256 else b"\x8b" + struct.pack("<I", len(data)) + data


def tup(*items):
    return b"(" + b"".join(items) + b"t"


def call(func, *args):
    return func + tup(*args) + b"R"


def frag(obj):
    """An ordinary object's opcodes, without PROTO and STOP (memo indices restart; that is allowed)."""
    return pickle.dumps(obj, protocol=2)[2:-1]


def whole(body, protocol=2):
    return b"\x80" + bytes([protocol]) + body + b"."


def network(state_opcodes, class_name="training.networks_stylegan2.Generator"):
    """{'G_ema': persistent object whose meta state is `state_opcodes`} as a whole file."""
    meta = (b"}(" + text("type") + text("class") + text("version") + integer(4) + text("class_name")
            + text(class_name) + text("state") + state_opcodes + b"u")
    return whole(b"}" + text("G_ema") + call(glob(*PERSISTENT), meta) + b"s")


def generator(init_kwargs=None, parameters=None, buffers=None, modules=None):
    """A Generator's state with these fields (opcodes or plain objects)."""
    def enc(value):
        return value if isinstance(value, bytes) else frag(value)

    return (b"}(" + text("_init_kwargs") + enc(init_kwargs if init_kwargs is not None else {})
            + text("_parameters") + enc(parameters if parameters is not None else {})
            + text("_buffers") + enc(buffers if buffers is not None else {})
            + text("_modules") + enc(modules if modules is not None else {}) + b"u")


def deep_modules(depth):
    """_modules nested `depth` levels (each child a persistent object holding the next)."""
    head = b"}(" + text("_modules") + b"}(" + text("m")
    prefix = (glob(*PERSISTENT) + b"(" + b"}(" + text("state") + head)
    suffix = b"uu" + b"u" + b"tR"
    inner = prefix * depth + b"N" + suffix * depth
    return b"}(" + text("m") + inner + b"u"


def cyclic_state():
    """A module state whose child module shares the very same state dict: root -> m -> m -> ..."""
    child = glob(*PERSISTENT) + b"(" + b"}(" + text("state") + b"h\x01" + b"u" + b"tR"
    return b"}q\x01(" + text("_init_kwargs") + b"}" + text("_modules") + b"}(" + text("m") + child + b"u" + b"u"

"""The perform model: OSC values (over real UDP, and handed in directly) reach the latent state
through one coalescing mailbox and the same render path as a slider; bad ones are counted and
dropped; continuous streams are one undo step."""

import socket
import time

import numpy as np
import pytest
from pythonosc.udp_client import SimpleUDPClient

from gan_explorer.core.latent.state import LatentState
from gan_explorer.core.perform import control
from tests.core.explorer.conftest import rendered_ws


def test_a_message_becomes_the_state_and_the_frame(performing):
    explorer, model, mailman = performing
    perform = explorer.perform
    perform.receive("/seed", (5,))
    assert explorer.latent.state.seed == 0  # nothing happens on the receiving thread
    assert mailman.pump() == 1
    assert explorer.latent.state.seed == 5
    np.testing.assert_allclose(explorer.viewer.last_result.ws, rendered_ws(model, explorer.latent.state), atol=1e-6)
    assert (perform.counters.received, perform.counters.applied, perform.counters.updates) == (1, 1, 1)


def test_bad_messages_are_counted_by_reason_and_dropped(performing):
    explorer, _model, mailman = performing
    perform = explorer.perform
    before = explorer.latent.state
    for address, params in (("/psi", ("loud",)), ("/psi", (float("nan"),)), ("/nowhere", (1,)),
                            ("/z/999", (1.0,)), ("/seed", ()), ("/psi", (1.0, 2.0))):
        perform.receive(address, params)
    assert mailman.pump() == 0 and explorer.latent.state == before
    assert {k: v for k, v in perform.counters.dropped.items() if v} == {"type": 3, "range": 2, "unknown": 1}
    assert perform.counters.received == 6 and perform.counters.applied == 0


def test_a_flood_is_coalesced_into_one_update(performing):
    explorer, _model, mailman = performing
    perform = explorer.perform
    rendered = explorer.session.rendered_count
    for i in range(10_000):
        perform.receive("/psi", (i / 10_000,))
        perform.receive("/z/1", (i / 5_000,))
    assert mailman.calls.qsize() == 1  # one call for the window's thread, however many values came
    mailman.pump()
    counters = perform.counters
    assert (counters.applied, counters.coalesced, counters.updates) == (2, 19_998, 1)
    assert explorer.latent.state.truncation_psi == 0.9999 and explorer.latent.state.z_edits == ((1, 1.9998),)
    assert explorer.session.rendered_count == rendered + 1


def test_more_distinct_addresses_than_the_mailbox_holds_are_dropped_as_a_flood(performing, monkeypatch):
    explorer, _model, mailman = performing
    monkeypatch.setattr(control, "MAX_PENDING", 10)
    for channel in range(15):
        explorer.perform.receive(f"/s/0/{channel}", (0.5,))
    assert explorer.perform.counters.dropped["flood"] == 5
    mailman.pump()
    assert len(explorer.latent.state.s_edits) == 10


def test_a_stream_of_values_is_one_undo_step_and_rest_renders_the_full_frame(performing):
    explorer, _model, mailman = performing
    latent, perform = explorer.latent, explorer.perform
    start = latent.state
    for value in (0.2, 0.4, 0.6):
        perform.receive("/psi", (value,))
        mailman.pump()
    assert latent.history.in_gesture and latent.state.truncation_psi == 0.6
    perform.rest()
    assert not latent.history.in_gesture and not explorer.viewer.last_result.preview
    latent.undo()
    assert latent.state == start
    perform.receive("/seed", (3,))  # a step, not a gesture
    mailman.pump()
    assert not latent.history.in_gesture


def test_w_and_library_addresses_move_the_sliders_the_window_shows(performing):
    explorer, model, mailman = performing
    perform, latent = explorer.perform, explorer.latent
    explorer.directions.save("big smile", np.eye(model.w_dim)[3], 0.5, (0, -1))
    perform.receive("/w/2", (1.5,))
    perform.receive("/direction/big_smile", (-2.0,))
    mailman.pump()
    assert latent.w_values() == {2: pytest.approx(1.5)}
    assert explorer.directions.library_values() == {"big smile": pytest.approx(-2.0)}


def test_osc_over_udp_changes_the_seed_counts_garbage_and_stops(performing):
    explorer, _model, mailman = performing
    perform = explorer.perform
    assert perform.osc is None and not perform.active  # off by default
    assert perform.start_osc("127.0.0.1", 0) == ""
    host, port = perform.osc.address
    assert host == "127.0.0.1" and port > 0
    client = SimpleUDPClient(host, port)
    client.send_message("/seed", 42)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
        raw.sendto(b"\x00not osc at all", (host, port))
    deadline = time.monotonic() + 20
    while explorer.latent.state.seed != 42 and time.monotonic() < deadline:
        mailman.pump(timeout=0.5)
    assert explorer.latent.state.seed == 42
    deadline = time.monotonic() + 20
    while perform.counters.dropped["malformed"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert perform.counters.dropped["malformed"] == 1
    perform.stop_osc()
    assert perform.osc is None and not perform.active
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((host, port))  # the port is free again


def test_a_port_in_use_is_one_line(performing):
    explorer, _model, _mailman = performing
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        line = explorer.perform.start_osc("127.0.0.1", port)
    assert line.startswith(f"OSC cannot listen on 127.0.0.1:{port}") and "\n" not in line
    assert explorer.perform.osc is None


def test_keyframe_position_moves_along_the_keyframes(performing):
    explorer, model, mailman = performing
    latent, keyframes, perform = explorer.latent, explorer.keyframes, explorer.perform
    latent.set_seed(1)
    keyframes.add()
    latent.set_seed(2)
    keyframes.add()
    perform.start_osc("127.0.0.1", 0)  # the keyframes' ws are computed while control from outside is on
    perform.receive("/keyframe", (0.25,))
    mailman.pump()
    ws1, ws2 = rendered_ws(model, LatentState(seed=1, truncation_psi=latent.state.truncation_psi)), \
        rendered_ws(model, LatentState(seed=2, truncation_psi=latent.state.truncation_psi))
    np.testing.assert_allclose(explorer.viewer.last_result.ws, ws1 + 0.25 * (ws2 - ws1), atol=1e-5)
    perform.receive("/keyframe", (1,))
    mailman.pump()
    assert latent.state == keyframes.items[1].state


def test_hostile_packets_are_counted_and_the_receiver_goes_on(performing):
    import struct

    from pythonosc.osc_message_builder import OscMessageBuilder

    explorer, _model, mailman = performing
    perform = explorer.perform
    perform.start_osc("127.0.0.1", 0)
    host, port = perform.osc.address
    builder = OscMessageBuilder("/seed")
    builder.add_arg(9)
    nested = builder.build().dgram
    for _ in range(3000):  # a bundle inside a bundle, 3000 deep: the decoder's recursion gives up
        nested = b"#bundle\x00" + b"\x00" * 7 + b"\x01" + struct.pack(">i", len(nested)) + nested
    blob = OscMessageBuilder("/psi")
    blob.add_arg(b"\x00\x01", OscMessageBuilder.ARG_TYPE_BLOB)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
        raw.sendto(nested, (host, port))
        raw.sendto(blob.build().dgram, (host, port))
    SimpleUDPClient(host, port).send_message("/seed", 8)
    deadline = time.monotonic() + 20
    while explorer.latent.state.seed != 8 and time.monotonic() < deadline:
        mailman.pump(timeout=0.5)
    assert explorer.latent.state.seed == 8 and perform.osc.running
    assert perform.counters.dropped["malformed"] == 1 and perform.counters.dropped["type"] == 1


def test_a_conditional_demo_takes_its_factor_by_name(tmp_path):
    from gan_explorer.core.explorer.conditions import with_factor
    from gan_explorer.core.explorer.explorer import Explorer
    from gan_explorer.core.explorer.session import ExplorerSession
    from gan_explorer.resources import demo_models

    from tests.core.perform.conftest import Mailman

    path = next(p for p in demo_models() if p.stem == "dcgan-faces32-glasses")
    explorer = Explorer(ExplorerSession(sync=True), data_dir=tmp_path)
    mailman = Mailman()
    explorer.perform.deliver = mailman.deliver
    explorer.viewer.open_model(path)
    info = explorer.viewer.info
    name = info.c_names[0]
    explorer.perform.receive(f"/condition/{name.replace(' ', '_')}", (1.0,))
    mailman.pump()
    assert explorer.latent.state.condition == with_factor(info, (), name, 1.0)
    assert explorer.viewer.last_result.error is None and explorer.perform.counters.dropped_total == 0

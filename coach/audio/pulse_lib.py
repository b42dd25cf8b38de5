"""libpulse's C API as ctypes sees it: the structures, callback types and functions bound.

Only the heads of libpulse's info structures are declared, up to the last field
read, so a newer library's longer structures still fit. :func:`load` opens the
library once; :class:`PulseUnavailable` says it is not there.
"""

from __future__ import annotations

import ctypes
from typing import Any

_vp, _cp, _ci, _u32 = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint32


class SampleSpec(ctypes.Structure):
    """pa_sample_spec: format, rate, channels."""

    _fields_ = [("format", _ci), ("rate", _u32), ("channels", ctypes.c_uint8)]


class BufferAttr(ctypes.Structure):
    """pa_buffer_attr: how much the server buffers and how often it posts."""

    _fields_ = [
        ("maxlength", _u32),
        ("tlength", _u32),
        ("prebuf", _u32),
        ("minreq", _u32),
        ("fragsize", _u32),
    ]


class ServerInfo(ctypes.Structure):
    """The head of pa_server_info, up to the default devices' names."""

    _fields_ = [
        ("user_name", _cp),
        ("host_name", _cp),
        ("server_version", _cp),
        ("server_name", _cp),
        ("sample_spec", SampleSpec),
        ("default_sink_name", _cp),
        ("default_source_name", _cp),
    ]


class DeviceInfo(ctypes.Structure):
    """The head shared by pa_sink_info and pa_source_info: name, index, description."""

    _fields_ = [("name", _cp), ("index", _u32), ("description", _cp)]


class ChannelMap(ctypes.Structure):
    """pa_channel_map: only its size matters here."""

    _fields_ = [("channels", ctypes.c_uint8), ("map", _ci * 32)]


class CVolume(ctypes.Structure):
    """pa_cvolume: only its size matters here."""

    _fields_ = [("channels", ctypes.c_uint8), ("values", _u32 * 32)]


class SinkInfo(ctypes.Structure):
    """The head of pa_sink_info, up to its monitor source's name."""

    _fields_ = [
        ("name", _cp),
        ("index", _u32),
        ("description", _cp),
        ("sample_spec", SampleSpec),
        ("channel_map", ChannelMap),
        ("owner_module", _u32),
        ("volume", CVolume),
        ("mute", _ci),
        ("monitor_source", _u32),
        ("monitor_source_name", _cp),
    ]


class SinkInputInfo(ctypes.Structure):
    """The head of pa_sink_input_info, up to ``corked`` (its layout since PulseAudio 1.0)."""

    _fields_ = [
        ("index", _u32),
        ("name", _cp),
        ("owner_module", _u32),
        ("client", _u32),
        ("sink", _u32),
        ("sample_spec", SampleSpec),
        ("channel_map", ChannelMap),
        ("volume", CVolume),
        ("buffer_usec", ctypes.c_uint64),
        ("sink_usec", ctypes.c_uint64),
        ("resample_method", _cp),
        ("driver", _cp),
        ("mute", _ci),
        ("proplist", _vp),
        ("corked", _ci),
    ]


class SourceOutputInfo(ctypes.Structure):
    """The head of pa_source_output_info, up to ``corked``."""

    _fields_ = [
        ("index", _u32),
        ("name", _cp),
        ("owner_module", _u32),
        ("client", _u32),
        ("source", _u32),
        ("sample_spec", SampleSpec),
        ("channel_map", ChannelMap),
        ("buffer_usec", ctypes.c_uint64),
        ("source_usec", ctypes.c_uint64),
        ("resample_method", _cp),
        ("driver", _cp),
        ("proplist", _vp),
        ("corked", _ci),
    ]


SUBSCRIBE_CB = ctypes.CFUNCTYPE(None, _vp, _ci, _u32, _vp)
SERVER_INFO_CB = ctypes.CFUNCTYPE(None, _vp, ctypes.POINTER(ServerInfo), _vp)
DEVICE_INFO_CB = ctypes.CFUNCTYPE(None, _vp, ctypes.POINTER(DeviceInfo), _ci, _vp)
SINK_INFO_CB = ctypes.CFUNCTYPE(None, _vp, ctypes.POINTER(SinkInfo), _ci, _vp)
SINK_INPUT_CB = ctypes.CFUNCTYPE(None, _vp, ctypes.POINTER(SinkInputInfo), _ci, _vp)
SOURCE_OUTPUT_CB = ctypes.CFUNCTYPE(None, _vp, ctypes.POINTER(SourceOutputInfo), _ci, _vp)
SAMPLE_FORMATS = {0: "u8", 1: "alaw", 2: "ulaw", 3: "s16le", 4: "s16be", 5: "float32le",
                  6: "float32be", 7: "s32le", 8: "s32be", 9: "s24le", 10: "s24be",
                  11: "s24-32le", 12: "s24-32be"}  # fmt: skip


class PulseUnavailable(Exception):
    """libpulse cannot be loaded here (not Linux, not installed)."""


class _Lib:
    """The few libpulse functions used, with their C signatures."""

    def __init__(self) -> None:
        try:
            self._lib = ctypes.CDLL("libpulse.so.0")
        except OSError as e:
            raise PulseUnavailable(str(e)) from None
        self._bind_loop_and_context()
        self._bind_streams()
        self._bind_queries()

    def _fn(self, name: str, restype: Any, *argtypes: Any) -> Any:
        f = getattr(self._lib, name)
        f.restype = restype
        f.argtypes = list(argtypes)
        return f

    def _bind_loop_and_context(self) -> None:
        fn = self._fn
        self.mainloop_new = fn("pa_mainloop_new", _vp)
        self.mainloop_free = fn("pa_mainloop_free", None, _vp)
        self.mainloop_get_api = fn("pa_mainloop_get_api", _vp, _vp)
        self.mainloop_iterate = fn("pa_mainloop_iterate", _ci, _vp, _ci, _vp)
        self.mainloop_prepare = fn("pa_mainloop_prepare", _ci, _vp, _ci)
        self.mainloop_poll = fn("pa_mainloop_poll", _ci, _vp)
        self.mainloop_dispatch = fn("pa_mainloop_dispatch", _ci, _vp)
        self.context_new = fn("pa_context_new", _vp, _vp, _cp)
        self.context_connect = fn("pa_context_connect", _ci, _vp, _cp, _ci, _vp)
        self.context_disconnect = fn("pa_context_disconnect", None, _vp)
        self.context_unref = fn("pa_context_unref", None, _vp)
        self.context_get_state = fn("pa_context_get_state", _ci, _vp)
        self.context_errno = fn("pa_context_errno", _ci, _vp)
        self.strerror = fn("pa_strerror", _cp, _ci)
        self.operation_unref = fn("pa_operation_unref", None, _vp)
        self.operation_cancel = fn("pa_operation_cancel", None, _vp)

    def _bind_streams(self) -> None:
        fn = self._fn
        self.stream_new = fn("pa_stream_new", _vp, _vp, _cp, ctypes.POINTER(SampleSpec), _vp)
        self.stream_connect_record = fn(
            "pa_stream_connect_record", _ci, _vp, _cp, ctypes.POINTER(BufferAttr), _ci
        )
        self.stream_get_state = fn("pa_stream_get_state", _ci, _vp)
        self.stream_peek = fn(
            "pa_stream_peek", _ci, _vp, ctypes.POINTER(_vp), ctypes.POINTER(ctypes.c_size_t)
        )
        self.stream_drop = fn("pa_stream_drop", _ci, _vp)
        self.stream_disconnect = fn("pa_stream_disconnect", _ci, _vp)
        self.stream_unref = fn("pa_stream_unref", None, _vp)
        self.stream_get_device_name = fn("pa_stream_get_device_name", _cp, _vp)
        self.stream_set_monitor_stream = fn("pa_stream_set_monitor_stream", _ci, _vp, _u32)
        self.stream_get_sample_spec = fn(
            "pa_stream_get_sample_spec", ctypes.POINTER(SampleSpec), _vp
        )

    def _bind_queries(self) -> None:
        """The server's events and the questions asked of it, each answered by a callback."""
        fn = self._fn
        self.context_set_subscribe_callback = fn(
            "pa_context_set_subscribe_callback", None, _vp, SUBSCRIBE_CB, _vp
        )
        self.context_subscribe = fn("pa_context_subscribe", _vp, _vp, _u32, _vp, _vp)
        self.context_get_server_info = fn(
            "pa_context_get_server_info", _vp, _vp, SERVER_INFO_CB, _vp
        )
        self.context_get_sink_info_by_name = fn(
            "pa_context_get_sink_info_by_name", _vp, _vp, _cp, DEVICE_INFO_CB, _vp
        )
        self.context_get_source_info_by_name = fn(
            "pa_context_get_source_info_by_name", _vp, _vp, _cp, DEVICE_INFO_CB, _vp
        )
        self.proplist_gets = fn("pa_proplist_gets", _cp, _vp, _cp)
        self.context_get_sink_info_list = fn(
            "pa_context_get_sink_info_list", _vp, _vp, SINK_INFO_CB, _vp
        )
        self.context_get_sink_input_info_list = fn(
            "pa_context_get_sink_input_info_list", _vp, _vp, SINK_INPUT_CB, _vp
        )
        self.context_get_source_output_info_list = fn(
            "pa_context_get_source_output_info_list", _vp, _vp, SOURCE_OUTPUT_CB, _vp
        )


_LIB: _Lib | None = None


def load() -> _Lib:
    """libpulse's bindings (loaded once), or :class:`PulseUnavailable`."""
    global _LIB
    if _LIB is None:
        _LIB = _Lib()
    return _LIB

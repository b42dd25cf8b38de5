/* Drain a PulseAudio record stream in one call (used by coach/audio/pulse.py).
 *
 * The server sends a fragment per render of the sink or source: every 2-8 ms
 * while a call plays, ~900 fragments a second for both streams. Taking each
 * through ctypes (peek, copy, drop: three foreign calls) cost ~8 us a fragment,
 * 0.8 % of a core; this loop does the same for the price of one call per stream
 * and tick. It needs no libpulse headers: coach/audio/pulse.py passes the addresses of
 * pa_stream_peek and pa_stream_drop it has already bound. If this module cannot
 * be built, coach/audio/pulse.py runs the same loop in Python.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef int (*peek_fn)(void *stream, const void **data, size_t *nbytes);
typedef int (*drop_fn)(void *stream);

static PyObject *drain(PyObject *self, PyObject *args) {
    unsigned long long peek_addr, drop_addr, stream_addr;
    if (!PyArg_ParseTuple(args, "KKK", &peek_addr, &drop_addr, &stream_addr))
        return NULL;
    peek_fn peek = (peek_fn)(uintptr_t)peek_addr;
    drop_fn drop = (drop_fn)(uintptr_t)drop_addr;
    void *stream = (void *)(uintptr_t)stream_addr;
    if (!peek || !drop || !stream) {
        PyErr_SetString(PyExc_ValueError, "drain: null pointer");
        return NULL;
    }
    char local[16384]; /* a tick's worth at 16 kHz float32 is ~2 kB */
    char *buf = local;
    size_t cap = sizeof local, len = 0;
    const void *data;
    size_t n;
    while (peek(stream, &data, &n) == 0 && n > 0) {
        if (len + n > cap) {
            size_t want = 2 * (len + n);
            char *bigger = PyMem_Malloc(want);
            if (!bigger) {
                if (buf != local) PyMem_Free(buf);
                return PyErr_NoMemory();
            }
            memcpy(bigger, buf, len);
            if (buf != local) PyMem_Free(buf);
            buf = bigger;
            cap = want;
        }
        if (data)
            memcpy(buf + len, data, n);
        else
            memset(buf + len, 0, n); /* a hole: silence keeps the sample count */
        len += n;
        drop(stream);
    }
    PyObject *out = PyBytes_FromStringAndSize(buf, (Py_ssize_t)len);
    if (buf != local) PyMem_Free(buf);
    return out;
}

static PyMethodDef methods[] = {
    {"drain", drain, METH_VARARGS,
     "drain(peek_addr, drop_addr, stream_addr) -> bytes: every fragment the stream holds."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "coach.audio._pulse_drain", NULL, -1, methods,
};

PyMODINIT_FUNC PyInit__pulse_drain(void) { return PyModule_Create(&module); }

"""The code object of the Python function calling into the core (included by ``_ccore.pyx``)."""

# -- the caller's code, without making its frame object ------------------------------------------
#
# ``loop.create_future()`` decides by its caller's code (asyncio's own awaiters get a plain
# Future: asyncsim.core.ordering). The Python method asks ``sys._getframe(1)``, which makes a
# frame object for the caller: on 3.11 that is about 8 % of a run of sleeping tasks in CPU time and
# 144 bytes per sleeping task (the frame object lives as long as the sleep). Here the code is read
# from the interpreter's frame (CPython 3.11 to 3.13); elsewhere NULL, and the core hands the
# call to the Python method.

cdef extern from *:
    """
    #if !defined(PYPY_VERSION) && PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030E0000
      #ifndef Py_BUILD_CORE
        #define Py_BUILD_CORE 1
      #endif
      #include "internal/pycore_frame.h"
      static PyObject *asyncsim_caller_code(void) {
          PyThreadState *tstate = PyThreadState_Get();
      #if PY_VERSION_HEX >= 0x030D0000
          _PyInterpreterFrame *f = tstate->current_frame;
      #else
          _PyInterpreterFrame *f = tstate->cframe->current_frame;
      #endif
          while (f != NULL && _PyFrame_IsIncomplete(f)) {
              f = f->previous;
          }
          if (f == NULL) {
              return NULL;
          }
      #if PY_VERSION_HEX >= 0x030D0000
          return f->f_executable;
      #else
          return (PyObject *)f->f_code;
      #endif
      }
    #else
      static PyObject *asyncsim_caller_code(void) { return NULL; }
    #endif
    """
    PyObject *asyncsim_caller_code()  # (borrowed; NULL: unknown here)

# libkvsm for other VMMs: the KVM-free core (src/hv/) as a shared library that exports only
# the functions of include/kvsm/*.h (libkvsm.map), and as a static archive; and make install.
KVSM_VERSION := 0.1.0
KVSM_SONAME := libkvsm.so.0
CORE_SRCS := $(wildcard src/hv/*.c)
LIB_SO := $(B)/lib/libkvsm.so.$(KVSM_VERSION)
LIB_CORE_A := $(B)/lib/libkvsm.a

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man

all: $(LIB_SO) $(LIB_CORE_A) $(B)/gen/kvsm.1

# The shared library's objects are its own: position-independent, under build/pic/.
$(B)/pic/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC -c $< -o $@

# -z defs: the core needs nothing from the VMM beyond libc and pthreads.
$(LIB_SO): $(CORE_SRCS:%.c=$(B)/pic/%.o) src/hv/libkvsm.map
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -shared -Wl,-soname,$(KVSM_SONAME) -Wl,--version-script=src/hv/libkvsm.map -Wl,-z,defs \
		-o $@ $(filter %.o,$^) -lpthread

$(LIB_CORE_A): $(CORE_SRCS:%.c=$(B)/%.o)
	@mkdir -p $(@D)
	@rm -f $@
	ar rcs $@ $^

# kvsm(1) and `kvsm --help` both come from man/kvsm.1.md.
$(B)/gen/kvsm.1: man/kvsm.1.md scripts/manpage.awk
	@mkdir -p $(@D)
	awk -v out=roff -f scripts/manpage.awk $< >$@

$(B)/gen/usage.h: man/kvsm.1.md scripts/manpage.awk
	@mkdir -p $(@D)
	awk -v out=usage -f scripts/manpage.awk $< >$@

$(B)/src/main.o $(B)/tsan/src/main.o: $(B)/gen/usage.h

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/kvsm \
		$(DESTDIR)$(MANDIR)/man1
	install -m 755 $(B)/kvsm $(DESTDIR)$(BINDIR)/kvsm
	install -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libkvsm.so.$(KVSM_VERSION) $(DESTDIR)$(LIBDIR)/$(KVSM_SONAME)
	ln -sf $(KVSM_SONAME) $(DESTDIR)$(LIBDIR)/libkvsm.so
	install -m 644 $(LIB_CORE_A) $(DESTDIR)$(LIBDIR)/libkvsm.a
	install -m 644 include/kvsm/*.h $(DESTDIR)$(INCLUDEDIR)/kvsm/
	install -m 644 $(B)/gen/kvsm.1 $(DESTDIR)$(MANDIR)/man1/kvsm.1
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|; s|@VERSION@|$(KVSM_VERSION)|' \
		src/hv/kvsm.pc.in >$(DESTDIR)$(LIBDIR)/pkgconfig/kvsm.pc

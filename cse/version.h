/*
 * version.h - the Hearth release version, printed by --version and logged
 * at start-up.
 */
#ifndef HEARTH_VERSION_H
#define HEARTH_VERSION_H

#define HEARTH_VERSION "0.1.0"

#endif

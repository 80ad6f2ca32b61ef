#include "provision/pki.hpp"

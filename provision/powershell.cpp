#include "provision/powershell.hpp"

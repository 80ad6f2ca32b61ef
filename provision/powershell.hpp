// The Windows side of a lab: the PowerShell and netsh commands that build the
// same publishing on a real Web Application Proxy and Lync server.
#pragma once

#include <string>
#include <string_view>

#include "provision/lab.hpp"

namespace edgelab::provision {

// WAP registers its HTTP.sys bindings under this application id; AD FS uses
// {5d89a20c-beab-4389-9447-324788eb944a}.
inline constexpr std::string_view kWapApplicationId = "{f955c070-e044-456c-ac00-e9e4275b3f04}";

// The script, in the seed's syntax. `proxyThumbprint` is the lab proxy
// certificate's (applications that name their own thumbprint keep it).
std::string emitPowerShell(const Lab& lab, std::string_view proxyThumbprint);

}  // namespace edgelab::provision

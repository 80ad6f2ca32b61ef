// A lab value built by hand, for tests that do not read a lab file.
#pragma once

#include "provision/lab.hpp"

namespace edgelab::runner::fixtures {

inline provision::Lab twoBackendLab() {
    provision::Lab lab;
    lab.name = "unit";
    lab.domain = "example.test";
    lab.names = {"lyncws.example.test", "meet.example.test", "dialin.example.test",
                 "lyncdiscover.example.test", "owas.example.test"};
    provision::Backend fe;
    fe.name = "fe1";
    fe.role = provision::BackendRole::LyncFrontEnd;
    fe.host = "lyncfe1.example.test";
    fe.port = 4443;
    fe.serves = {"lyncws.example.test", "meet.example.test", "dialin.example.test",
                 "lyncdiscover.example.test"};
    provision::Backend owas;
    owas.name = "owas1";
    owas.role = provision::BackendRole::Owas;
    owas.host = "owas.example.test";
    owas.port = 443;
    owas.serves = {"owas.example.test"};
    lab.backends = {fe, owas};
    return lab;
}

}  // namespace edgelab::runner::fixtures

// One call of the data API: who called, the owner's context, and SPI.
//
//     CE_FUNCTION(ce_read) {
//         pg_uuid_t file = uuid_required(fcinfo, 0, "file_id");   // arguments first
//         ApiCall call;                    // caller captured, owner context entered, SPI connected
//         FileRow f = find_file(call.spi(), file);                 // VC007
//         call.require(f.project_id, Right::read);                 // 42501 with a JSON DETAIL
//         ...statements on the extension's own tables...
//         call.finish();                   // SPI_finish, back to the caller's identity
//         ...build the result...
//     }
//
// API functions are SECURITY INVOKER: the caller is the role that called, as for
// any PostgreSQL function, and its rights on the project decide. Only the fixed
// statements of the extension run in the owner's context, on its own tables.
#pragma once

#include "pg/access.hpp"
#include "pg/owner.hpp"
#include "pg/spi.hpp"

namespace ce::pg {

class ApiCall {
public:
    ApiCall() : owner_(), spi_() {}
    Oid caller() const noexcept { return owner_.caller(); }
    Spi& spi() noexcept { return spi_; }
    Right right(const pg_uuid_t& project) { return right_on(spi_, caller(), project); }
    void require(const pg_uuid_t& project, Right needed) { require_right(spi_, caller(), project, needed); }
    void require_on_all(Right needed) { require_right_on_all(spi_, caller(), needed); }
    void finish() {
        spi_.finish();
        owner_.leave();
    }

private:
    OwnerContext owner_;  // entered first, left last
    Spi spi_;
};

}  // namespace ce::pg

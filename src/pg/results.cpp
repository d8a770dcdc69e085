#include "pg/results.hpp"

namespace ce::pg {

Record::Record(FunctionCallInfo fcinfo) {
    desc_ = pg_call([fcinfo] {
        auto desc = static_cast<TupleDesc>(fcinfo->flinfo->fn_extra);
        if (desc == nullptr) {
            TupleDesc found;
            if (get_call_result_type(fcinfo, nullptr, &found) != TYPEFUNC_COMPOSITE)
                ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                                errmsg("function returning record called in context that cannot accept type record")));
            MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
            desc = BlessTupleDesc(CreateTupleDescCopy(found));
            MemoryContextSwitchTo(old);
            fcinfo->flinfo->fn_extra = desc;
        }
        return desc;
    });
    values_.assign(desc_->natts, Datum(0));
    nulls_.assign(desc_->natts, 1);
}

Datum Record::datum() {
    TupleDesc d = desc_;
    Datum* v = values_.data();
    bool* n = reinterpret_cast<bool*>(nulls_.data());
    static_assert(sizeof(bool) == sizeof(char), "bool and char differ in size");
    return pg_call([d, v, n] { return HeapTupleGetDatum(heap_form_tuple(d, v, n)); });
}

SetResult::SetResult(FunctionCallInfo fcinfo) : fcinfo_(fcinfo) {
    natts_ = pg_call([fcinfo] {
        InitMaterializedSRF(fcinfo, 0);
        return reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo)->setDesc->natts;
    });
}

void SetResult::add(const std::vector<Datum>& values, const std::vector<char>& nulls) {
    if (static_cast<int>(values.size()) != natts_ || static_cast<int>(nulls.size()) != natts_)
        throw SqlError(CE_ERRCODE_INTERNAL, "internal error in concurrent_edit: result row has the wrong width",
                       ce::Detail().add("columns", natts_).add("values", values.size()));
    FunctionCallInfo fcinfo = fcinfo_;
    Datum* v = const_cast<Datum*>(values.data());
    bool* n = reinterpret_cast<bool*>(const_cast<char*>(nulls.data()));
    pg_call([fcinfo, v, n] {
        // A row at a time: a cancel or statement_timeout stops a long result here
        // (conflict_hunks, merge_conflicts, changes_overlap loop over the regions).
        CHECK_FOR_INTERRUPTS();
        auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
    });
}

void SetResult::add_rows(const Rows& rows, int replace, Datum replacement) {
    TupleDesc src = rows.tupdesc();
    uint64 n = rows.size();
    if (n == 0) return;
    if (src == nullptr || src->natts < natts_)
        throw SqlError(CE_ERRCODE_INTERNAL, "internal error in concurrent_edit: query and result columns differ",
                       ce::Detail().add("columns", natts_).add("query_columns", src == nullptr ? 0 : src->natts));
    std::vector<Datum> values(src->natts);  // columns past the result's are left out
    std::vector<char> nulls(src->natts);
    FunctionCallInfo fcinfo = fcinfo_;
    int natts = natts_;
    // What a row's copying allocates (values fetched out of line, the fetching's
    // own scans) goes to a context reset after each row: a caller adding batch
    // after batch (changes_since) kept all of it until SPI_finish, 3.6 kB a row
    // for a feed of long paths.
    MemoryContext scratch = own_context("concurrent_edit result row", true);
    for (uint64 i = 0; i < n; ++i) {
        HeapTuple t = rows.tuple(i);
        Datum* v = values.data();
        bool* nl = reinterpret_cast<bool*>(nulls.data());
        // tuplestore_putvalues copies the values into the result's own memory; values
        // stored out of line are fetched first, so the result holds no TOAST pointer.
        pg_call([fcinfo, t, src, v, nl, replace, replacement, natts, scratch] {
            CHECK_FOR_INTERRUPTS();
            auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
            MemoryContext caller = MemoryContextSwitchTo(scratch);
            heap_deform_tuple(t, src, v, nl);
            if (replace >= 0 && replace < src->natts) {
                v[replace] = replacement;
                nl[replace] = false;
            }
            for (int c = 0; c < natts; ++c)
                if (!nl[c] && TupleDescAttr(src, c)->attlen == -1 && VARATT_IS_EXTERNAL(DatumGetPointer(v[c])))
                    v[c] = PointerGetDatum(detoast_external_attr(reinterpret_cast<struct varlena*>(DatumGetPointer(v[c]))));
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nl);
            MemoryContextSwitchTo(caller);
            MemoryContextReset(scratch);
        });
    }
    drop_context(scratch);
}

Datum uuid_array_datum(const std::vector<pg_uuid_t>& ids) {
    std::vector<Datum> elems;
    elems.reserve(ids.size());
    for (const auto& u : ids) elems.push_back(uuid_datum(u));
    Datum* e = elems.data();
    int n = static_cast<int>(elems.size());
    return pg_call([e, n] { return PointerGetDatum(construct_array(e, n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR)); });
}

Datum int4_array_datum(const std::vector<int32>& items) {
    std::vector<Datum> elems;
    elems.reserve(items.size());
    for (int32 x : items) elems.push_back(Int32GetDatum(x));
    Datum* e = elems.data();
    int n = static_cast<int>(elems.size());
    return pg_call([e, n] { return PointerGetDatum(construct_array(e, n, INT4OID, 4, true, TYPALIGN_INT)); });
}

Datum text_array_datum(const std::vector<std::string>& items) {
    std::vector<Datum> elems;
    elems.reserve(items.size());
    for (const auto& s : items) elems.push_back(text_datum(s));
    Datum* e = elems.data();
    int n = static_cast<int>(elems.size());
    return pg_call([e, n] { return PointerGetDatum(construct_array(e, n, TEXTOID, -1, false, TYPALIGN_INT)); });
}

}  // namespace ce::pg

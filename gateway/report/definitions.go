package report

// The definitions of the items, as the report prints them. The code that
// counts each item refers to its definition here; change both together.
const (
	defCase = "Trường hợp 1 khi cơ quan kê khai dùng một hệ thống quản lý văn bản (QLVB) dùng chung cho mọi đơn vị; " +
		"nếu không, trường hợp 2 khi mọi đơn vị trong danh bạ đã kết nối, trường hợp 3 khi còn đơn vị chưa kết nối."
	defUnits = "Đơn vị có hệ thống QLVB: đơn vị có mã định danh là mã của cơ quan báo cáo hoặc thuộc mã đó, có trong danh bạ " +
		"trục liên thông (đã đăng ký nên có hệ thống QLVB kết nối trục). Tổng số đơn vị theo kê khai; không kê khai thì bằng số đơn vị trong danh bạ."
	defConnected = "Đơn vị đã kết nối: đơn vị trong danh bạ đã gửi hoặc nhận ít nhất một văn bản qua cổng này trong quý, " +
		"hoặc có cổng liên thông đang hoạt động (tín hiệu nhịp tim còn hiệu lực) khi lập báo cáo."
	defNational = "Đã kết nối với Trục liên thông văn bản quốc gia khi trong quý có văn bản trao đổi với cơ quan ngoài cơ quan báo cáo, " +
		"hoặc cổng liên thông của cơ quan đang hoạt động khi lập báo cáo."
	defInternal = "Văn bản trao đổi giữa các đơn vị: văn bản mới (không tính thu hồi, cập nhật, thay thế) do đơn vị thuộc cơ quan gửi, " +
		"mọi nơi nhận đều thuộc cơ quan. Hoàn toàn điện tử khi không gửi kèm bản giấy (Paper = 0); song song bản giấy khi Paper = 1."
	defOutgoing = "Văn bản đi điện tử: văn bản mới do các đơn vị thuộc cơ quan gửi qua cổng trong quý (theo giờ Việt Nam), " +
		"mỗi văn bản tính một lần dù gửi nhiều nơi."
	defPaper  = "Văn bản đi giấy: theo sổ đăng ký văn bản đi giấy, do cơ quan kê khai; tỷ lệ điện tử/giấy = văn bản đi điện tử chia văn bản đi giấy."
	defSigned = "Văn bản có ký số: văn bản có kết quả kiểm tra chữ ký số hợp lệ, với chữ ký của cơ quan gửi có sẵn khi văn bản đến cổng " +
		"(văn bản hệ thống QLVB gửi chưa ký, được cổng ký thay bằng khóa của cơ quan khi tiếp nhận, không tính là có ký số; " +
		"cổng không nhận văn bản đến có chữ ký không hợp lệ). Tính mọi văn bản trao đổi trong tháng (theo giờ Việt Nam): " +
		"văn bản đi của các đơn vị, và văn bản đến từ cơ quan có cổng khác. Trong nội bộ khi mọi nơi nhận (văn bản đi) hoặc nơi gửi " +
		"(văn bản đến) thuộc cơ quan; còn lại là với cơ quan khác. Trung bình tháng = tổng của quý chia 3."
	defSignedPDF = "Văn bản có tệp PDF ký số: văn bản có ít nhất một tệp đính kèm PDF mang chữ ký số (từ điển chữ ký có /ByteRange)."
	defDelivered = "Đã đến: lượt gửi (mỗi nơi nhận một lượt) mà nơi nhận đã báo trạng thái 01."
	defTimes     = "Thời gian đến 01, 03, 06: từ khi cổng nhận văn bản để gửi đến khi nơi nhận báo trạng thái đó lần đầu (thời điểm ghi trong gói trạng thái); " +
		"trung vị và phân vị 95 theo thứ hạng gần nhất."
	defOverdue = "Quá hạn: hạn xử lý trước ngày kết thúc quý (hoặc ngày lập báo cáo nếu sớm hơn) mà chưa hoàn thành (06) trước hết ngày hạn; " +
		"không tính lượt bị từ chối hoặc đã lấy lại."
	// defOnce applies to defOverdue and defRefusals.
	defOnce     = " Văn bản giữa hai đơn vị cùng đặt tại cổng này được tính một lần, ở phía gửi."
	defRefusals = "Từ chối: lượt gửi có trạng thái hiện tại là từ chối tiếp nhận (02), với lý do ghi trong gói trạng thái. " +
		"Lấy lại: lượt gửi đã có yêu cầu lấy lại (13), đã lấy lại (15) hoặc bị từ chối lấy lại (16)."
)

// definitions lists them by item, in the report's order.
func definitions() []Definition {
	return []Definition{
		{"1.a", defCase}, {"1.b", defUnits}, {"1.c", defConnected}, {"1.d", defNational},
		{"2.a", defInternal}, {"2.c", defOutgoing}, {"2.d", defPaper},
		{"3.b", defSigned}, {"3.c", defSignedPDF},
		{"P.1", defDelivered}, {"P.2", defTimes}, {"P.3", defOverdue + defOnce}, {"P.4", defRefusals + defOnce},
	}
}

"""The Korean lexicon behind person-name detection: surnames, cue words and ordinary words that
begin with a surname syllable. Data only."""

from __future__ import annotations

#: The common one-syllable surnames (rare ones that are also everyday syllables, such as 예 or 기,
#: are left out: they cost more false positives than they find names).
SURNAMES = frozenset(
    "김이박최정강조윤장임한오서신권황안송류유전홍고문양손배백허남심노하곽성차주우구민진나지엄채원천방공현함변염여추"
    "도소석선연제"
)
COMPOUND_SURNAMES = ("남궁", "황보", "제갈", "선우", "독고", "사공", "서문", "동방")

#: Ordinary words that begin with a surname syllable (foods, adverbs, roles, banks, everyday nouns).
STOPWORDS = frozenset(
    """
김치 김밥 김말이 김가루 이번 이거 이건 이게 이것 이제 이상 이하 이용 이름 이전 이후 이미 이쪽 이렇게 이런 이유 이벤트 이모
박스 박하 박사 정말 정도 정리 정보 정확 정상 정식 정류장 정산 정식 조금 조리 조심 조용 조만간 조회 최고 최대 최소 최근 최악
최종 최선 강력 강추 강의 한번 한우 한식 한분 한개 한잔 한정 한참 한국 한테 한진 신선 신라면 신청 신경 신규 신용 신한 오늘
오징어 오후 오전 오랜만 오래 오류 오이 전화 전복 전복죽 전체 전부 전혀 전달 전에 전날 주문 주소 주말 주의 주세요 주시 주신
배달 배송 배민 배고 배부 고기 고객 고등어 고추 고민 고생 고마 고맙 문의 문자 문제 문앞 안녕 안내 안쪽 안에 홍합 홍보 양념
양파 양이 양도 손님 기사 사장 사진 사용 사랑 사과 사이 우리 우유 우동 하나 하루 하고 하면 국민 국물 남자 남은 남편 여자 여기
여러 유리 유자 유통 서비스 서울 성함 성공 차가 차이 구매 구성 민원 진짜 진행 나중 나물 지금 지난 지역 원래 원하 천천 방금
방문 공지 공동 현관 현금 함께 변경 연락 연어 도착 도시락 소스 소고기 소금 송장 장소 장조림 임시 황금 허니 심심 노력 채소 추가
추천 장님 차액 지원서 연락처 우체국 전화번호 휴대폰 계좌번호 주민번호 카드번호 여권번호 면허번호 송장번호
주문번호 신한은행 우리은행 하나은행 국민은행 농협은행 기업은행 부산은행 대구은행 광주은행 전북은행 제주은행 수협은행 신협
새마을 카카오 토스 케이뱅크 고객센터 대표번호 문의처 연락번호 제일 제육 제품 석쇠 선물 설명 도우 지연 지원 지도 지갑 최저 한달 오배송 주차 조각 정성 신메뉴 강남 안심 고추장
""".split()
)

#: Words that are roles, not given names ("김사장님").
ROLE_WORDS = frozenset({"님", "씨", "고객", "사장", "기사", "회원", "대리", "과장", "부장", "선생", "실장", "팀장"})

#: Endings of a run that mark the name before them ("김민수님", "박지영입니다").
SUFFIX_CUES = (
    "고객님께서",
    "고객님께",
    "고객님이",
    "고객님은",
    "고객님",
    "회원님",
    "기사님",
    "선생님",
    "님께서",
    "님께",
    "님이",
    "님은",
    "님의",
    "님",
    "씨가",
    "씨는",
    "씨",
    "고객",
    "회원",
    "담당자",
    "입니다",
    "이에요",
    "예요",
    "이고요",
    "인데요",
    "이라고",
    "라고",
)
#: Words after a separate name token ("김민수 고객님", "김민수 이름으로").
FOLLOWING_CUES = ("고객님", "고객", "회원님", "님", "씨", "기사님", "담당자", "상담원", "이름으로", "앞으로", "드림")
#: Labels before a name ("예금주 박지영", "받는 분: 이서연").
PRECEDING_CUES = (
    "예금주",
    "받는 분",
    "받는분",
    "받으실 분",
    "수령인",
    "수취인",
    "주문자",
    "보내는 분",
    "보내는분",
    "이름",
    "성함",
    "고객명",
    "담당자",
    "기사님",
    "배달기사",
    "저는",
    "제 이름은",
)
#: Particles stripped from the end of a name token ("김민수가" → "김민수").
PARTICLES = (
    "으로",
    "에게",
    "한테",
    "께서",
    "이고",
    "이며",
    "이가",
    "이는",
    "이를",
    "의",
    "이",
    "가",
    "은",
    "는",
    "을",
    "를",
    "로",
    "께",
)
